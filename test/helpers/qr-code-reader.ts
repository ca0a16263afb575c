import jsQR from 'jsqr';
import { PNG } from 'pngjs';

/**
 * The text of the QR code drawn in a PNG image (a screenshot), read from its pixels as a phone's
 * camera would; undefined when no QR code can be read. Reading the pixels, not the page's markup,
 * proves that what the browser really shows scans.
 */
export function readQrCode(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // Dark on white only, as WeChat's own codes are: an inverted code is a defect of the page.
  const code = jsQR(pixels, image.width, image.height, { inversionAttempts: 'dontInvert' });
  return code?.data;
}
