/** WeChat's rule for notify_url in both API versions: an http(s) URL without a query string or fragment. */
export function isNotifyUrl(text: string): boolean {
  try {
    const url = new URL(text);
    const web = url.protocol === 'http:' || url.protocol === 'https:';
    return web && url.search === '' && url.hash === '' && !text.includes('?');
  } catch {
    return false;
  }
}
