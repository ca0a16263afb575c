import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import {
  DEFAULT_MAX_XML_BYTES,
  XmlError,
  decodeXmlText,
  parseXml,
  parseXmlDocument,
  readFlatXml,
  toXml,
} from '#shared/wechatpay/v2/xml';
import { loadVectors } from '#test/helpers/vectors';

/** A small deterministic PRNG so a failing fuzz case can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** parseXml's contract on hostile input: a field map or an XmlError, never anything else. */
function outcome(body: string): 'ok' | 'xml-error' {
  try {
    const fields = parseXml(body);
    expect(typeof fields).toBe('object');
    for (const v of Object.values(fields)) expect(typeof v).toBe('string');
    return 'ok';
  } catch (err) {
    if (err instanceof XmlError) return 'xml-error';
    throw err;
  }
}

describe('toXml / parseXml round trip', () => {
  it('keeps out_trade_no 000123 and a 28-digit transaction_id byte for byte', () => {
    const fields = {
      out_trade_no: '000123',
      transaction_id: '1004400740201409030005092168',
      total_fee: '0000',
      big: '99999999999999999999999999999999',
    };
    const xml = toXml(fields);
    expect(xml).toContain('<out_trade_no>000123</out_trade_no>');
    expect(xml).toContain('<transaction_id>1004400740201409030005092168</transaction_id>');
    const back = parseXml(xml);
    expect(back).toEqual(fields);
    expect(typeof back.transaction_id).toBe('string');
    // A double would have rounded it.
    expect(String(Number(back.transaction_id))).not.toBe(back.transaction_id);
  });

  it.each([
    ['CDATA terminator', 'a]]>b'],
    ['two terminators', ']]>]]>'],
    ['terminator at the end', 'x]]>'],
    ['brackets', ']]'],
    ['markup', '<a href="x">&amp;</a>'],
    ['an entity-looking text', '&lt;&#65;&unknown;'],
    ['leading and trailing spaces', '  padded  '],
    ['newlines and tabs', 'l1\nl2\tl3'],
    ['carriage return', 'l1\r\nl2\rl3'],
    ['Chinese and emoji', '支付测试 🧧'],
    ['JSON scene_info', '{"h5_info":{"type":"Wap","wap_url":"https://m.example.com","wap_name":"店"}}'],
    ['digits with sign', '-1'],
    ['decimal', '1.50'],
  ])('keeps %s exactly', (_name, value) => {
    expect(parseXml(toXml({ v: value })).v).toBe(value);
  });

  it('writes digits bare and everything else in CDATA, leaving out empty and undefined values', () => {
    expect(toXml({ total_fee: '1', body: 'JSAPI支付测试', attach: '', openid: undefined })).toBe(
      '<xml><total_fee>1</total_fee><body><![CDATA[JSAPI支付测试]]></body></xml>',
    );
  });

  it('refuses element names XML cannot carry and values with forbidden characters', () => {
    expect(() => toXml({ 'a b': 'x' })).toThrow(XmlError);
    expect(() => toXml({ '1a': 'x' })).toThrow(XmlError);
    expect(() => toXml({ 'a<b': 'x' })).toThrow(XmlError);
    expect(() => toXml({ a: 'nul\u0000' })).toThrow(XmlError);
    expect(() => toXml({ a: 'lone \uD800 surrogate' })).toThrow(XmlError);
  });

  it('round-trips random printable values (fuzz)', () => {
    const rand = prng(20261125);
    const alphabet = [
      'a',
      'Z',
      '0',
      ' ',
      '\n',
      '\t',
      '\r',
      '<',
      '>',
      '&',
      ']',
      '[',
      '!',
      ';',
      '#',
      '中',
      '🧧',
      '"',
      "'",
      'x',
    ];
    for (let i = 0; i < 500; i += 1) {
      const fields: Record<string, string> = {};
      const count = 1 + Math.floor(rand() * 5);
      for (let f = 0; f < count; f += 1) {
        let value = '';
        const len = 1 + Math.floor(rand() * 30);
        for (let c = 0; c < len; c += 1) value += alphabet[Math.floor(rand() * alphabet.length)];
        fields[`f${f}`] = value;
      }
      expect(parseXml(toXml(fields))).toEqual(fields);
    }
  });
});

describe('parseXml on WeChat’s documents', () => {
  it('reads the official pretty-printed notification, ignoring the whitespace between fields', () => {
    const { payloads } = loadVectors<{ payloads: Array<{ id: string; body: unknown }> }>('notify-payloads.json');
    const official = payloads.find((p) => p.id === 'v2-pay-notify-official');
    const fields = parseXml(official?.body as string);
    expect(fields.transaction_id).toBe('1004400740201409030005092168');
    expect(fields.attach).toBe('支付测试');
    expect(fields.total_fee).toBe('1');
    expect(fields.out_trade_no).toBe('1409811653');
    expect(fields.coupon_fee_0).toBe('100');
    expect(Object.keys(fields)).not.toContain('#text');
    expect(Object.keys(fields)).toHaveLength(24);
  });

  it('accepts an XML declaration, comments, CRLF and surrounding whitespace', () => {
    expect(parseXml('<?xml version="1.0" encoding="UTF-8"?>\r\n<xml>\r\n<!-- c --><a>1</a>\r\n</xml>\r\n')).toEqual({
      a: '1',
    });
    expect(parseXml('\r\n <xml><a>1</a></xml>')).toEqual({ a: '1' });
  });

  it('accepts a byte order mark', () => {
    expect(parseXml('\uFEFF<?xml version="1.0" encoding="UTF-8"?><xml><a>1</a></xml>')).toEqual({ a: '1' });
  });

  it('reads an empty envelope as no fields', () => {
    expect(parseXml('<xml></xml>')).toEqual({});
    expect(parseXml('<xml/>')).toEqual({});
    expect(parseXml('<xml>  \n </xml>')).toEqual({});
  });

  it('reads an empty element as an empty string', () => {
    expect(parseXml('<xml><a></a><b/></xml>')).toEqual({ a: '', b: '' });
  });

  it('ignores attributes', () => {
    expect(parseXml('<xml><a id="1">v</a></xml>')).toEqual({ a: 'v' });
  });
});

describe('parseXml entities', () => {
  it('decodes the five predefined entities and character references outside CDATA', () => {
    expect(parseXml('<xml><a>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x4E2D;&#x1F9E7;</a></xml>').a).toBe(
      'a & b <c> "d" \'e\' A中🧧',
    );
  });

  it('never decodes inside CDATA', () => {
    expect(parseXml('<xml><a><![CDATA[&amp;&lt;&#65;]]></a></xml>').a).toBe('&amp;&lt;&#65;');
  });

  it('joins text and CDATA in one element', () => {
    expect(parseXml('<xml><a>x &amp; <![CDATA[&amp;]]> y</a></xml>').a).toBe('x & &amp; y');
  });

  it.each([
    ['an undeclared entity', '<xml><a>&nbsp;</a></xml>'],
    ['an external-looking entity', '<xml><a>&xxe;</a></xml>'],
    ['a bare ampersand', '<xml><a>fish & chips</a></xml>'],
    ['an unterminated reference', '<xml><a>&amp</a></xml>'],
    ['a reference to NUL', '<xml><a>&#0;</a></xml>'],
    ['a reference beyond Unicode', '<xml><a>&#x110000;</a></xml>'],
    ['a reference to a surrogate', '<xml><a>&#xD800;</a></xml>'],
    ['an upper-case X reference', '<xml><a>&#X41;</a></xml>'],
  ])('refuses %s', (_name, doc) => {
    expect(() => parseXml(doc)).toThrow(XmlError);
  });

  it('decodeXmlText leaves plain text untouched', () => {
    expect(decodeXmlText('no entities here; 100% plain')).toBe('no entities here; 100% plain');
  });
});

describe('parseXml refuses hostile and malformed documents', () => {
  const hostile: Array<[string, string]> = [
    [
      'XXE (external entity)',
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>',
    ],
    [
      'XXE (parameter entity)',
      '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><xml><a>1</a></xml>',
    ],
    [
      'billion laughs',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><a>&lol3;</a></xml>',
    ],
    ['a lower-case doctype', '<!doctype xml><xml><a>1</a></xml>'],
    ['a DOCTYPE without entities', '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd"><xml><a>1</a></xml>'],
    ['a stray ENTITY declaration', '<xml><!ENTITY e "x"><a>1</a></xml>'],
    ['a nested element', '<xml><a><b>1</b></a></xml>'],
    ['deep nesting', `<xml>${'<a>'.repeat(10_000)}x${'</a>'.repeat(10_000)}</xml>`],
    ['a repeated field', '<xml><a>1</a><a>2</a></xml>'],
    ['a repeated sign', '<xml><sign>A</sign><b>1</b><sign>B</sign></xml>'],
    ['mixed text and fields', '<xml>text<a>1</a></xml>'],
    ['text instead of fields', '<xml>just text</xml>'],
    ['mixed content inside a field', '<xml><a>v<b/>w</a></xml>'],
    ['another root element', '<root><a>1</a></root>'],
    ['two roots', '<xml><a>1</a></xml><xml><a>2</a></xml>'],
    ['two root elements', '<xml><a>1</a></xml><other/>'],
    ['trailing garbage', '<xml><a>1</a></xml>garbage'],
    ['an unclosed root', '<xml><a>1</a>'],
    ['an unclosed field', '<xml><a>1</xml>'],
    ['mismatched tags', '<xml><a>1</b></xml>'],
    ['an unterminated CDATA', '<xml><a><![CDATA[1</a></xml>'],
    ['a NUL byte', '<xml><a>1\u0000</a></xml>'],
    ['a control character', '<xml><a>\u0007</a></xml>'],
    ['a lone surrogate', '<xml><a>\uDC00</a></xml>'],
    ['__proto__ as a field', '<xml><__proto__>1</__proto__></xml>'],
    ['constructor as a field', '<xml><constructor>1</constructor></xml>'],
    ['JSON', '{"return_code":"SUCCESS"}'],
    ['an empty string', ''],
    ['only whitespace', '  \n '],
    ['HTML', '<html><body>502 Bad Gateway</body></html>'],
    ['a half document', '<xml><return_code><![CDATA[SUCC'],
  ];

  it.each(hostile)('%s → XmlError', (_name, doc) => {
    expect(() => parseXml(doc)).toThrow(XmlError);
  });

  it('never lets an entity expand, even declared inside the root', () => {
    expect(() => parseXml('<xml><!DOCTYPE x [<!ENTITY e "boom">]><a>&e;</a></xml>')).toThrow(XmlError);
  });

  it('refuses documents over the size cap before parsing them', () => {
    const big = `<xml><attach>${'A'.repeat(DEFAULT_MAX_XML_BYTES)}</attach></xml>`;
    expect(() => parseXml(big)).toThrow(/larger than/);
    // The cap is in UTF-8 bytes, not characters: 22,000 three-byte characters are 66,000 bytes.
    const wide = `<xml><a>${'中'.repeat(22_000)}</a></xml>`;
    expect(wide.length).toBeLessThan(DEFAULT_MAX_XML_BYTES);
    expect(() => parseXml(wide)).toThrow(/larger than/);
    expect(() => parseXml('<xml><a>12345</a></xml>', 10)).toThrow(/larger than 10 bytes/);
    expect(() => parseXml(`<xml><a>${'中'.repeat(21_000)}</a></xml>`)).not.toThrow();
  });

  it('refuses a 2 MB body quickly', () => {
    const started = performance.now();
    expect(() => parseXml(`<xml><attach>${'A'.repeat(2 * 1024 * 1024)}</attach></xml>`)).toThrow(XmlError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a non-string', () => {
    expect(() => parseXml(undefined as unknown as string)).toThrow(XmlError);
    expect(() => parseXml(Buffer.from('<xml/>') as unknown as string)).toThrow(XmlError);
  });
});

describe('parseXml fuzz: random and mutated documents end in fields or XmlError, never a crash', () => {
  it('random bytes', () => {
    for (let i = 0; i < 2000; i += 1) {
      const bytes = randomBytes(1 + (i % 300));
      expect(['ok', 'xml-error']).toContain(outcome(bytes.toString('utf8')));
      expect(['ok', 'xml-error']).toContain(outcome(`<xml>${bytes.toString('latin1')}</xml>`));
    }
  });

  it('random sequences of XML tokens', () => {
    const rand = prng(42);
    const tokens = [
      '<xml>',
      '</xml>',
      '<a>',
      '</a>',
      '<b>',
      '</b>',
      '<a/>',
      '<![CDATA[',
      ']]>',
      '<!--',
      '-->',
      '<?xml version="1.0"?>',
      '<!DOCTYPE',
      '<!ENTITY',
      '&amp;',
      '&lt;',
      '&#65;',
      '&#x;',
      '&',
      ';',
      '<',
      '>',
      '"',
      "'",
      '=',
      ' ',
      '\n',
      'text',
      '000123',
      '中',
      '<sign>',
      '</sign>',
      '<__proto__>',
      '<?pi x?>',
      '<a x="1">',
      '<a x=>',
      '</',
      '/>',
      '\uFEFF',
    ];
    let ok = 0;
    for (let i = 0; i < 5000; i += 1) {
      let doc = rand() < 0.7 ? '<xml>' : '';
      const n = Math.floor(rand() * 20);
      for (let t = 0; t < n; t += 1) doc += tokens[Math.floor(rand() * tokens.length)];
      if (rand() < 0.7) doc += '</xml>';
      if (outcome(doc) === 'ok') ok += 1;
    }
    // The generator does produce valid documents too, so both paths are exercised.
    expect(ok).toBeGreaterThan(0);
  });

  it('single-character mutations of a real notification', () => {
    const base = toXml({
      appid: 'wx2421b1c4370ec43b',
      attach: '支付测试',
      out_trade_no: '000123',
      total_fee: '1',
      transaction_id: '1004400740201409030005092168',
      sign: 'B552ED6B279343CB493C5DD0D78AB241',
    });
    const rand = prng(7);
    const inserts = ['<', '>', '&', '/', '!', '[', ']', '\u0000', '"', 'x', '\uD800', '<a>', '<!DOCTYPE x>'];
    for (let i = 0; i < 3000; i += 1) {
      const at = Math.floor(rand() * base.length);
      const op = rand();
      let doc: string;
      if (op < 0.33) doc = base.slice(0, at) + base.slice(at + 1);
      else if (op < 0.66) doc = base.slice(0, at) + inserts[Math.floor(rand() * inserts.length)] + base.slice(at);
      else doc = base.slice(0, at);
      expect(['ok', 'xml-error']).toContain(outcome(doc));
    }
  });

  it('stays fast on large adversarial documents just under the cap', () => {
    const fill = (head: string, unit: string, tail: string): string =>
      head + unit.repeat(Math.floor((DEFAULT_MAX_XML_BYTES - head.length - tail.length) / unit.length)) + tail;
    const shapes = [
      fill('<xml>', '<a>1</a>', '</xml>'),
      `<xml>${Array.from({ length: 3500 }, (_, i) => `<f${i}>1</f${i}>`).join('')}</xml>`,
      fill('<xml><a>', '&amp;', '</a></xml>'),
      fill('<xml><a>', '<![CDATA[x]]>', '</a></xml>'),
      fill('<xml>', '<!-- -->', '</xml>'),
      fill('<xml><a>', '&#65;', '</a></xml>'),
      fill('<xml>', '<a>', '</xml>'),
      fill('', '<', ''),
      fill('<xml>', '<a ', ''),
      fill('<xml><a>', ']]>', '</a></xml>'),
      fill('<xml>', '<a b="', ''),
    ];
    for (const doc of shapes) {
      expect(doc.length).toBeLessThanOrEqual(DEFAULT_MAX_XML_BYTES);
      const started = performance.now();
      expect(['ok', 'xml-error']).toContain(outcome(doc));
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });
});

describe('readFlatXml: the flat envelope read without the general parser', () => {
  /** The flat reader either declines or reads exactly what the general parser reads. */
  function agrees(doc: string): 'read' | 'declined' {
    const flat = readFlatXml(doc);
    if (flat === undefined) return 'declined';
    expect(parseXmlDocument(doc)).toEqual(flat);
    return 'read';
  }

  it('reads a notification as WeChat writes it, and the pretty-printed official one', () => {
    const doc = toXml({
      appid: 'wx2421b1c4370ec43b',
      attach: '支付测试 ]] > &amp;',
      out_trade_no: '000123',
      total_fee: '1',
      transaction_id: '1004400740201409030005092168',
      sign: 'B552ED6B279343CB493C5DD0D78AB241',
    });
    expect(readFlatXml(doc)).toEqual({
      appid: 'wx2421b1c4370ec43b',
      attach: '支付测试 ]] > &amp;',
      out_trade_no: '000123',
      total_fee: '1',
      transaction_id: '1004400740201409030005092168',
      sign: 'B552ED6B279343CB493C5DD0D78AB241',
    });
    const { payloads } = loadVectors<{ payloads: Array<{ id: string; body: unknown }> }>('notify-payloads.json');
    const official = payloads.find((p) => p.id === 'v2-pay-notify-official')?.body as string;
    expect(agrees(official)).toBe('read');
    expect(readFlatXml('<root><a>1</a></root>', 'root')).toEqual({ a: '1' });
  });

  it.each([
    ['a declaration', '<?xml version="1.0"?><xml><a>1</a></xml>'],
    ['a comment', '<xml><!-- c --><a>1</a></xml>'],
    ['an attribute', '<xml><a id="1">v</a></xml>'],
    ['an entity', '<xml><a>a &amp; b</a></xml>'],
    ['a CR', '<xml><a>a\r\nb</a></xml>'],
    ['a CR in CDATA', '<xml><a><![CDATA[a\rb]]></a></xml>'],
    ['text beside CDATA', '<xml><a>x<![CDATA[y]]></a></xml>'],
    ['two CDATA sections', '<xml><a><![CDATA[x]]><![CDATA[y]]></a></xml>'],
    ['an empty root', '<xml></xml>'],
    ['a self-closing field', '<xml><a>1</a><b/></xml>'],
    ['a repeated field', '<xml><a>1</a><a>2</a></xml>'],
    ['__proto__', '<xml><__proto__>1</__proto__></xml>'],
    ['constructor', '<xml><constructor>1</constructor></xml>'],
    ['a nested element', '<xml><a><b>1</b></a></xml>'],
    ['text between fields', '<xml><a>1</a>x<b>2</b></xml>'],
    ['another root', '<root><a>1</a></root>'],
    ['trailing content', '<xml><a>1</a></xml><xml/>'],
    ['non-XML space around the root', '\u00a0<xml><a>1</a></xml>'],
  ])('declines %s, for the general parser', (_name, doc) => {
    expect(readFlatXml(doc)).toBeUndefined();
  });

  it('agrees with the general parser on random token sequences and mutated notifications', () => {
    const rand = prng(99);
    const tokens = ['<xml>', '</xml>', '<a>', '</a>', '<b>', '</b>', '<![CDATA[', ']]>', ' ', '\n', '\t', 'v', '中'];
    let read = 0;
    for (let i = 0; i < 20_000; i += 1) {
      let doc = rand() < 0.2 ? ' ' : '';
      doc += '<xml>';
      const n = Math.floor(rand() * 12);
      for (let t = 0; t < n; t += 1) doc += tokens[Math.floor(rand() * tokens.length)];
      doc += rand() < 0.9 ? '</xml>' : '';
      try {
        if (agrees(doc) === 'read') read += 1;
      } catch (err) {
        // Read by the flat reader but refused by the general one: a disagreement.
        if (err instanceof XmlError) throw new Error(`flat reader accepted ${JSON.stringify(doc)}`, { cause: err });
        throw err;
      }
    }
    // Documents built of fields: mostly within the flat form (white-space values included), some not.
    const names = ['a', 'b', 'c', 'sign', 'constructor'];
    const contents = [
      '',
      ' ',
      '\n',
      'v',
      '中 文',
      '0012',
      '<![CDATA[x]]>',
      '<![CDATA[]]>',
      '<![CDATA[ ]]>',
      ']]',
      '> ',
    ];
    const spaces = ['', ' ', '\n', '\t', '\r\n'];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
    for (let i = 0; i < 20_000; i += 1) {
      let doc = `${pick(spaces)}<xml>`;
      const n = Math.floor(rand() * 5);
      for (let f = 0; f < n; f += 1) {
        const name = pick(names);
        doc += `${pick(spaces)}<${name}>${pick(contents)}${rand() < 0.2 ? pick(contents) : ''}</${name}>`;
      }
      doc += `${pick(spaces)}</xml>${pick(spaces)}`;
      try {
        if (agrees(doc) === 'read') read += 1;
      } catch (err) {
        if (err instanceof XmlError) throw new Error(`flat reader accepted ${JSON.stringify(doc)}`, { cause: err });
        throw err;
      }
    }
    expect(read).toBeGreaterThan(3000);
    const base = toXml({ appid: 'wx2421b1c4370ec43b', out_trade_no: '000123', attach: 'a b', total_fee: '1' });
    const inserts = ['<', '>', '&', '/', '!', '[', ']', ' ', 'x', '<a>', '</a>', ']]>', '<![CDATA['];
    for (let i = 0; i < 5000; i += 1) {
      const at = Math.floor(rand() * base.length);
      const doc = base.slice(0, at) + inserts[Math.floor(rand() * inserts.length)] + base.slice(at);
      let flat: Record<string, string> | undefined;
      try {
        flat = readFlatXml(doc);
      } catch (err) {
        throw new Error(`flat reader threw on ${JSON.stringify(doc)}`, { cause: err });
      }
      if (flat !== undefined) expect(parseXmlDocument(doc), doc).toEqual(flat);
    }
  });

  it('round-trips random printable values as the general parser does', () => {
    const rand = prng(5);
    for (let i = 0; i < 2000; i += 1) {
      let value = '';
      const length = 1 + Math.floor(rand() * 30);
      for (let c = 0; c < length; c += 1) value += String.fromCharCode(0x20 + Math.floor(rand() * 0x5f));
      const doc = toXml({ k: value, n: String(i) });
      expect(agrees(doc)).toBe('read');
      expect(readFlatXml(doc)?.k).toBe(value);
    }
  });
});
