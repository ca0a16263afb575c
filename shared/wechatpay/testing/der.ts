/**
 * Just enough DER (X.690) to write X.509 certificates for tests and the simulator: node:crypto
 * parses and verifies certificates but cannot issue them, and the library depends on nothing else.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'ascii'));
export const ia5 = (s: string): Buffer => tlv(0x16, Buffer.from(s, 'ascii'));
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** Context-specific constructed tag [n] (EXPLICIT). */
export const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);
/** Context-specific primitive tag [n] (IMPLICIT over a primitive type). */
export const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 + n, content);

/** A BIT STRING of whole bytes (no unused bits), as signatures and key material are. */
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));

/**
 * A named-bit BIT STRING (keyUsage): DER drops trailing zero bits, and the first content byte
 * counts the unused bits of the last one.
 */
export function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] ?? 0) | (0x80 >> (bit % 8));
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function integer(bytes: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a 0x00 in front to stay positive.
  const first = bytes[0] ?? 0;
  return tlv(0x02, first & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

export function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  // RFC 5280: UTCTime until 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${digits}Z`));
}

export function pemOf(label: string, der: Buffer): string {
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** The complete TLVs directly inside a constructed element (a SEQUENCE, a SET, an explicit tag). */
export function childrenOf(element: Buffer): Buffer[] {
  const content = contentOf(element);
  const out: Buffer[] = [];
  for (let offset = 0; offset < content.length;) {
    const { end } = header(content, offset);
    out.push(content.subarray(offset, end));
    offset = end;
  }
  return out;
}

/** The content octets of one TLV. */
export function contentOf(element: Buffer): Buffer {
  const { contentStart, end } = header(element, 0);
  if (end !== element.length) throw new TypeError('DER: trailing bytes after an element');
  return element.subarray(contentStart, end);
}

function header(buf: Buffer, offset: number): { contentStart: number; end: number } {
  const first = buf[offset + 1];
  if (buf[offset] === undefined || first === undefined) throw new TypeError('DER: truncated element');
  let contentLength = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new TypeError('DER: unsupported length');
    contentLength = 0;
    for (let i = 0; i < count; i++) contentLength = contentLength * 256 + (buf[contentStart + i] ?? 0);
    contentStart += count;
  }
  const end = contentStart + contentLength;
  if (end > buf.length) throw new TypeError('DER: truncated element');
  return { contentStart, end };
}
