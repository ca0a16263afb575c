import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.local-data/', 'bench/.peers/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The domain core stays free of AWS, HTTP and CDK so it can be reasoned about and tested alone.
    files: ['shared/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', '@middy/*', '@aws-lambda-powertools/*'], message: 'The domain core must not depend on AWS, CDK or Lambda tooling.' },
            { group: ['node:http', 'node:https', 'http', 'https', '../adapters/*', '../wechatpay/*'], message: 'The domain core must not depend on HTTP or adapters; use a port.' },
          ],
        },
      ],
    },
  },
);
