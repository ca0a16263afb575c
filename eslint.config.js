import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports that climb more than one folder use the `#` subpaths of package.json instead.
const DEEP_RELATIVE = { group: ['../../*'], message: 'Use a # subpath import (package.json "imports").' };
const AWS_AND_LAMBDA = [
  '@aws-sdk/*',
  'aws-cdk-lib',
  'aws-cdk-lib/*',
  'constructs',
  '@middy/*',
  '@aws-lambda-powertools/*',
];

/** A pattern for `#` subpath imports of these folders (gitignore-style groups read `#` as a comment). */
function ours(folders, message) {
  return { regex: `^#(${folders.join('|')})/`, message };
}

/** One no-restricted-imports rule per area: ESLint replaces, not merges, a rule set twice for a file. */
function boundary(files, ...patterns) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: [DEEP_RELATIVE, ...patterns] }] } };
}

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
      // Prettier wraps code at 120; this holds strings and comments, which it leaves alone, to the same.
      'max-len': ['error', { code: 120, ignoreUrls: true }],
      'no-restricted-imports': ['error', { patterns: [DEEP_RELATIVE] }],
    },
  },
  boundary(
    ['shared/**/*.ts'],
    ours(
      ['sandbox', 'infra', 'test', 'bench', 'functions'],
      'shared/ is what the Lambdas run: not the tooling around it.',
    ),
  ),
  // The domain core stays free of AWS, HTTP, CDK and protocol code so it can be reasoned about and tested alone.
  boundary(
    ['shared/domain/**/*.ts'],
    { group: AWS_AND_LAMBDA, message: 'The domain core must not depend on AWS, CDK or Lambda tooling.' },
    {
      group: ['node:http', 'node:https', 'http', 'https', '../*'],
      message: 'The domain core must not use HTTP or reach outside itself; use a port.',
    },
    ours(
      [
        'shared/adapters',
        'shared/wechatpay',
        'shared/app',
        'shared/config',
        'sandbox',
        'infra',
        'functions',
        'test',
        'bench',
      ],
      'The domain core must not depend on protocols, adapters or configuration; use a port.',
    ),
  ),
  // Settings are read before anything is built: they may use the domain's errors, never what they configure.
  boundary(
    ['shared/config/**/*.ts'],
    { group: AWS_AND_LAMBDA, message: 'shared/config reads settings; it does not use AWS or Lambda tooling.' },
    { group: ['../adapters/*', '../app/*', '../wechatpay/*'], message: 'shared/config depends on no adapter or app.' },
    ours(
      ['shared/adapters', 'shared/app', 'shared/wechatpay', 'sandbox', 'infra', 'functions', 'test', 'bench'],
      'shared/config depends on no adapter or app.',
    ),
  ),
  // The WeChat Pay library stands alone: adapters translate its errors into domain errors.
  boundary(
    ['shared/wechatpay/**/*.ts'],
    { group: AWS_AND_LAMBDA, message: 'The WeChat Pay library must not depend on AWS or Lambda tooling.' },
    ours(
      [
        'shared/domain',
        'shared/adapters',
        'shared/app',
        'shared/config',
        'sandbox',
        'infra',
        'functions',
        'test',
        'bench',
      ],
      'shared/wechatpay imports nothing of ours outside itself.',
    ),
  ),
  // The Standard Webhooks library stands alone too, like the WeChat Pay one.
  boundary(
    ['shared/webhooks/**/*.ts'],
    { group: AWS_AND_LAMBDA, message: 'The webhooks library must not depend on AWS or Lambda tooling.' },
    ours(
      [
        'shared/domain',
        'shared/adapters',
        'shared/app',
        'shared/config',
        'shared/wechatpay',
        'sandbox',
        'infra',
        'functions',
        'test',
        'bench',
      ],
      'shared/webhooks imports nothing of ours outside itself.',
    ),
  ),
  // The simulator plays WeChat: it may use the protocol library, never the merchant's side.
  boundary(
    ['sandbox/simulator/**/*.ts'],
    { group: AWS_AND_LAMBDA, message: 'The simulator does not use AWS.' },
    ours(
      [
        'shared/domain',
        'shared/adapters',
        'shared/app',
        'shared/config',
        'sandbox/local',
        'infra',
        'functions',
        'test',
        'bench',
      ],
      'The simulator uses only shared/wechatpay, never the domain or the stack.',
    ),
  ),
);
