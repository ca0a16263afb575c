import type { NotificationCodec, UnverifiedReason, VerifiedNotification } from '../domain/ports';

/**
 * The codecs word their refusals for people (and may quote the sender); what is stored and counted is
 * one of a closed list of codes. Read from the start of the codecs' wording only, which is theirs (what
 * follows may quote the sender, who could otherwise pick a code); anything not recognised is
 * INVALID_CONTENT, so a change of wording costs precision, never safety.
 */
const CODES: ReadonlyArray<[RegExp, UnverifiedReason]> = [
  [/^body larger than /, 'TOO_LARGE'],
  [/^unreadable notification:/, 'UNREADABLE'],
  [/^not a v3 notification envelope:/, 'UNREADABLE'],
  [/^notification is not signed/, 'UNSIGNED'],
  [/^signature refused \(missing_headers\)/, 'UNSIGNED'],
  [/^signature refused \(unknown_serial\)/, 'UNKNOWN_KEY'],
  [/^signature refused \((stale|bad)_timestamp\)/, 'STALE_TIMESTAMP'],
  [/^signature refused /, 'BAD_SIGNATURE'],
  [/^notification signature /, 'BAD_SIGNATURE'],
  [/^resource not decrypted:/, 'UNDECRYPTABLE'],
  // rotating-wechatpay.ts: the verification's time budget ran out before any key settled it.
  [/^not verified within the time budget$/, 'UNVERIFIED'],
];

export function unverifiedReasonOf(codecReason: string): UnverifiedReason {
  return CODES.find(([pattern]) => pattern.test(codecReason))?.[1] ?? 'INVALID_CONTENT';
}

/** The codec, with each refusal given its code (the codec's own wording stays, for the log). */
export function withReasonCodes(codec: NotificationCodec): NotificationCodec {
  return {
    apiVersion: codec.apiVersion,
    auditHeaders: (raw) => codec.auditHeaders(raw),
    async verify(raw): Promise<VerifiedNotification> {
      const verified = await codec.verify(raw);
      return verified.kind === 'rejected' ? { ...verified, code: unverifiedReasonOf(verified.reason) } : verified;
    },
  };
}
