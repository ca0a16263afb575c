import { randomBytes, randomInt } from 'node:crypto';
import { toWechatTime } from '#shared/wechatpay/v2/time';

function digits(count: number): string {
  let out = '';
  while (out.length < count) out += randomInt(0, 10).toString();
  return out;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function nonce(length = 32): string {
  let out = '';
  while (out.length < length) out += ALNUM[randomInt(0, ALNUM.length)];
  return out;
}

/** Like WeChat's: "wx" + Beijing yyyyMMddHHmmss + 20 hex characters (36 in all). */
export function newPrepayId(now: number): string {
  return `wx${toWechatTime(new Date(now))}${randomBytes(10).toString('hex')}`;
}

/** 28 digits starting 42000 with the Beijing pay date in the middle; too long for a double, so a string. */
export function newTransactionId(paidAt: number): string {
  return `42000${digits(5)}${toWechatTime(new Date(paidAt)).slice(0, 8)}${digits(10)}`;
}

/** NATIVE's QR code content, weixin://wxpay/bizpayurl?pr=… (mode two). */
export function newCodeUrl(): string {
  return `weixin://wxpay/bizpayurl?pr=${nonce(7)}`;
}

/** MWEB's cashier page, which the merchant's H5 page redirects the user to. */
export function newMwebUrl(prepayId: string): string {
  return `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${prepayId}&package=${digits(10)}`;
}

/** 29 digits like WeChat's (5030…/5000…), with the Beijing refund date inside; a string, like every id. */
export function newRefundId(createdAt: number): string {
  return `5030${digits(5)}${toWechatTime(new Date(createdAt)).slice(0, 8)}${digits(12)}`;
}
