import {
  ConfigurationError,
  LoginRefusedError,
  type LoginRefusal,
  ProviderError,
  ValidationError,
  WechatApiError,
} from '../domain/errors';
import type { ExchangedLogin, LoginCodeExchange } from '../domain/miniprogram-session';
import { WechatPayError, WechatPayValidationError } from '../wechatpay/core/errors';
import type { LoginErrorCode } from '../wechatpay/miniprogram/login-errors';
import { MiniProgramLoginClient, type MiniProgramLoginClientOptions } from '../wechatpay/miniprogram/login-client';
import { toDomainError } from './wechatpay-errors';

/**
 * The login code exchange (sns/jscode2session) through the protocol library, its errors as the
 * domain's: WeChat's refusals of the code or the user are LoginRefusedErrors, an AppSecret or appid
 * WeChat does not know is the deployment's fault (ConfigurationError), and every other failure a
 * ProviderError as the WeChat Pay calls' ("system busy" was already asked again by the library), told
 * as WeChat's API's (WechatApiError), not WeChat Pay's.
 */

/** WeChat's refusals the caller acts on: the refusal, and what to tell it. */
const REFUSALS: Partial<Record<LoginErrorCode, { refusal: LoginRefusal; message: string }>> = {
  INVALID_CODE: {
    refusal: 'INVALID_CODE',
    message: 'the login code is unknown, expired or for another mini program: call wx.login() for a new one',
  },
  CODE_USED: { refusal: 'CODE_USED', message: 'the login code was already used: call wx.login() for a new one' },
  FREQUENCY_LIMITED: {
    refusal: 'RATE_LIMITED',
    message: "WeChat's login quota for this minute is spent: try again in a minute",
  },
  HIGH_RISK_USER: { refusal: 'HIGH_RISK_USER', message: 'WeChat refuses the login of this user (high risk)' },
};

/** The deployment's fault: WeChat does not know our appid, or the AppSecret is not its. */
const MISCONFIGURED: ReadonlySet<string> = new Set<LoginErrorCode>(['INVALID_APPSECRET', 'INVALID_APPID']);

/**
 * WeChat refused our AppSecret (40125): the one deployment fault a replaced secret explains, worth
 * reading the credentials again for. WeChat checks the secret before the code, so the code is unspent.
 */
export function isAppSecretRefusal(error: unknown): error is ConfigurationError {
  return (
    error instanceof ConfigurationError &&
    error.cause instanceof WechatPayError &&
    error.cause.kind === 'business' &&
    error.cause.code === ('INVALID_APPSECRET' satisfies LoginErrorCode)
  );
}

/** Where the AppSecret is set, for the operator reading the log. */
export const APPSECRET_SOURCE = 'appSecret in the merchant secret (WECHAT_APPSECRET locally)';

export class WechatMiniProgramLogin implements LoginCodeExchange {
  private readonly client: MiniProgramLoginClient;

  /** Options the library refuses (an appid or AppSecret of the wrong shape) are a ConfigurationError. */
  constructor(options: MiniProgramLoginClientOptions) {
    try {
      this.client = new MiniProgramLoginClient(options);
    } catch (error) {
      // The library's message names the field and its rule, never the value.
      const what = error instanceof Error ? error.message : 'unusable options';
      throw new ConfigurationError(`the mini program login cannot be set up: ${what} (${APPSECRET_SOURCE})`);
    }
  }

  async exchange(code: string): Promise<ExchangedLogin> {
    try {
      const { openid, unionid, sessionKey } = await this.client.codeToSession(code);
      return { openid, ...(unionid === undefined ? {} : { unionid }), sessionKey };
    } catch (error) {
      throw loginDomainError(error);
    }
  }
}

/** A library error from the login exchange as the domain's; anything else passes unchanged. */
export function loginDomainError(error: unknown): unknown {
  if (error instanceof WechatPayValidationError) {
    // The only input is the code: its shape broke the library's rule.
    return new ValidationError(`code: ${error.message}`, 'code', { cause: error });
  }
  if (!(error instanceof WechatPayError) || error.kind !== 'business') return wechatApiError(error);
  const errcode = Number(error.rawCode);
  const known = REFUSALS[error.code as LoginErrorCode];
  if (known !== undefined) {
    return new LoginRefusedError(known.refusal, `${known.message} (WeChat: ${error.message})`, errcode, {
      cause: error,
    });
  }
  if (MISCONFIGURED.has(error.code)) {
    return new ConfigurationError(
      `WeChat refused the mini program login's credentials (${error.code}, ${errcode}): check the appid and ` +
        APPSECRET_SOURCE,
      { cause: error },
    );
  }
  // SYSTEM_BUSY (after the library's retries) stays retryable; an errcode not listed is ERRCODE_<n>.
  return wechatApiError(error);
}

function wechatApiError(error: unknown): unknown {
  const mapped = toDomainError(error);
  return mapped instanceof ProviderError ? asWechatApiError(mapped) : mapped;
}

/** A ProviderError of the WeChat Pay mapping, relabelled as WeChat's own API's. */
function asWechatApiError(error: ProviderError): WechatApiError {
  return new WechatApiError(error.code, error.message, {
    retryable: error.retryable,
    kind: error.kind,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    ...(error.rawCode === undefined ? {} : { rawCode: error.rawCode }),
    cause: error.cause,
  });
}
