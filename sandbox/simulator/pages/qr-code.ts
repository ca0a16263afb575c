import QRCode from 'qrcode';
import { trusted } from './html';
import type { SafeHtml } from './html';

/** Wide enough for a phone camera, and for a decoder reading a screenshot, to resolve every module. */
const QR_WIDTH_PX = 240;

/**
 * `text` (a NATIVE order's code_url) as an inline SVG QR code, dark on white with the standard
 * 4-module quiet zone, which scanners need to find the code. The SVG is the library's own output.
 */
export async function qrSvg(text: string): Promise<SafeHtml> {
  const svg = await QRCode.toString(text, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 4,
    width: QR_WIDTH_PX,
    color: { dark: '#000000ff', light: '#ffffffff' },
  });
  return trusted(svg);
}
