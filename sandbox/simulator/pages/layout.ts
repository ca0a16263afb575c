import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { html, trusted } from './html';
import type { SafeHtml } from './html';

/** The look of a phone's payment sheet: a centred card, the amount large, WeChat's green for paying. */
const STYLES = `
:root { color-scheme: light; --green: #07c160; --green-dark: #06ad56; --red: #fa5151; --grey: #888;
  --line: #ececec; --bg: #ededed; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: #111;
  font: 15px/1.45 -apple-system, BlinkMacSystemFont, "PingFang SC", "Helvetica Neue", "Noto Sans CJK SC",
  "Microsoft YaHei", sans-serif; }
header.bar { background: #2e2e2e; color: #fff; padding: 10px 16px; font-size: 14px; display: flex;
  gap: 16px; align-items: center; }
header.bar a { color: #fff; text-decoration: none; opacity: .85; }
header.bar a:hover { opacity: 1; }
header.bar .brand { font-weight: 600; opacity: 1; }
main { padding: 24px 12px 48px; }
.card { width: 100%; max-width: 380px; margin: 0 auto 16px; background: #fff; border-radius: 12px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); padding: 24px 20px; }
.wide { max-width: 980px; }
h1 { font-size: 17px; font-weight: 600; margin: 0 0 16px; text-align: center; }
h2 { font-size: 15px; font-weight: 600; margin: 0 0 10px; }
.merchant { text-align: center; color: var(--grey); font-size: 14px; margin: 0; }
#amount { text-align: center; font-size: 40px; font-weight: 600; letter-spacing: .5px; margin: 4px 0 8px;
  font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: auto 1fr; gap: 6px 12px; margin: 16px 0; font-size: 14px; }
dl.facts dt { color: var(--grey); }
dl.facts dd { margin: 0; text-align: right; word-break: break-all; }
#qr { display: flex; justify-content: center; margin: 8px 0 4px; }
#qr svg { width: 240px; height: 240px; display: block; background: #fff; }
.hint { text-align: center; color: var(--grey); font-size: 13px; margin: 4px 0 12px; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #f2f2f2; font-size: 13px;
  font-weight: 600; }
.state-SUCCESS, .state-REFUND { background: #e6f8ee; color: var(--green-dark); }
.state-PAYERROR, .state-CLOSED { background: #fdeaea; color: #c33; }
.actions { display: grid; gap: 10px; margin-top: 18px; }
button { font: inherit; border: 0; border-radius: 8px; padding: 12px 16px; cursor: pointer; font-weight: 600; }
button:disabled { opacity: .45; cursor: not-allowed; }
button[data-action="pay"] { background: var(--green); color: #fff; font-size: 17px; }
button[data-action="pay"]:hover:not(:disabled) { background: var(--green-dark); }
button.secondary { background: #f2f2f2; color: #111; }
button.danger { background: #f2f2f2; color: var(--red); }
.actions .row { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
#result { min-height: 1.5em; margin: 14px 0 0; text-align: center; font-weight: 600; }
#result.ok { color: var(--green-dark); }
#result.bad { color: var(--red); }
ol#notifications, ul#refunds { list-style: none; padding: 0; margin: 0; display: grid; gap: 8px; }
ol#notifications li, ul#refunds li { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px;
  font-size: 13px; }
li[data-outcome="acknowledged"] { border-left: 4px solid var(--green) !important; }
li[data-outcome="refused"], li[data-outcome="failed"] { border-left: 4px solid var(--red) !important; }
.meta { color: var(--grey); font-size: 13px; }
button small { display: block; font-weight: 400; font-size: 12px; opacity: .8; }
pre.reply { margin: 6px 0 0; padding: 6px 8px; background: #f7f7f7; border-radius: 6px; white-space: pre-wrap;
  word-break: break-all; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; max-height: 8em;
  overflow: auto; }
ul#refunds .buttons { display: flex; gap: 6px; margin-top: 8px; flex-wrap: wrap; }
ul#refunds button { padding: 6px 10px; font-size: 13px; }
.empty { color: var(--grey); font-size: 13px; margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--grey); font-weight: 500; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td code, dd code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
a.cashier { color: var(--green-dark); font-weight: 600; }
[hidden] { display: none !important; }
`;

export interface Page {
  title: string;
  body: SafeHtml;
  /** Plain JavaScript run once the page has loaded (no modules, no build step). */
  script?: string;
}

/**
 * Sends a page with a Content-Security-Policy that lets through only this page's own style and
 * script (by a fresh nonce), and fetches to the simulator itself: a merchant's text that slipped past
 * the escaping still could not run.
 */
export function sendPage(res: ServerResponse, status: number, page: Page): void {
  if (res.writableEnded || res.destroyed) return;
  const nonce = randomBytes(16).toString('base64');
  const document = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>${page.title}</title>
        <style nonce="${nonce}">
          ${trusted(STYLES)}
        </style>
      </head>
      <body>
        <header class="bar">
          <span class="brand">WeChat Pay simulator</span><a href="/sandbox">Orders and refunds</a>
        </header>
        ${page.body}
        ${
          page.script === undefined
            ? ''
            : html`<script nonce="${nonce}">
                ${trusted(page.script)};
              </script>`
        }
      </body>
    </html> `.value;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(document).toString(),
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(document);
}
