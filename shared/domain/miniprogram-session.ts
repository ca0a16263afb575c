/**
 * A mini program user's login session: what WeChat's code2Session gave for a code from wx.login().
 * The openid identifies the payer (a JSAPI payment needs it); the session key decrypts the user data
 * the mini program sends later. The key is the user's secret with WeChat: it is kept here only, sealed,
 * and never leaves in an answer, a log line or an event.
 */

/** Who logged in: what the app backend is told. */
export interface MiniProgramIdentity {
  openid: string;
  /** Only when the mini program is bound to an Open Platform account. */
  unionid?: string;
}

/** What one exchange of a login code gives. */
export interface ExchangedLogin extends MiniProgramIdentity {
  /** base64 of 16 bytes. A secret. */
  sessionKey: string;
}

export interface LoginSession extends ExchangedLogin {
  /** ISO 8601: when the code was exchanged. Of two sessions of one user, the later one is current. */
  exchangedAt: string;
  /** ISO 8601: after this the session is gone (the store may still hold it until its TTL sweeps it). */
  expiresAt: string;
}

/** Exchanges a login code at WeChat. Refusals are LoginRefusedError; a broken deployment ConfigurationError. */
export interface LoginCodeExchange {
  exchange(code: string): Promise<ExchangedLogin>;
}

/**
 * - saved: this session is now the user's current one.
 * - superseded: a session exchanged later is already kept; it stays, and this one is dropped.
 */
export type SaveSessionResult = 'saved' | 'superseded';

/** Keeps each user's current session, its key sealed at rest. */
export interface LoginSessionStore {
  save(session: LoginSession): Promise<SaveSessionResult>;
  /** Undefined when none is kept, or the one kept cannot be unsealed (sealed under a replaced key). */
  find(openid: string): Promise<LoginSession | undefined>;
}

export interface EncryptedUserData {
  encryptedData: string;
  iv: string;
}

/**
 * Decrypts user data with a session key and checks it is for this mini program (its watermark).
 * Refusals are UserDataRejectedError.
 */
export interface UserDataOpener {
  open(sessionKey: string, data: EncryptedUserData): Record<string, unknown>;
}
