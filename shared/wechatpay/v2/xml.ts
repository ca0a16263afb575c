import { XMLParser } from 'fast-xml-parser';

/** WeChat's messages are a few hundred bytes; anything near this cap is hostile. */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // Values stay strings: out_trade_no "000123" and 28-digit transaction_ids must survive byte for byte.
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: false,
});

function escapeCdata(value: string): string {
  // A CDATA section cannot contain "]]>"; split it across two sections.
  return value.replaceAll(']]>', ']]]]><![CDATA[>');
}

/** `<xml><k><![CDATA[v]]></k>…</xml>`; undefined and empty values are left out, as WeChat does. */
export function toXml(params: Record<string, string | undefined>): string {
  let out = '<xml>';
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new XmlError(`invalid element name: ${key}`);
    out += /^[0-9]+$/.test(value) ? `<${key}>${value}</${key}>` : `<${key}><![CDATA[${escapeCdata(value)}]]></${key}>`;
  }
  return `${out}</xml>`;
}

/**
 * Parses WeChat's flat `<xml>` envelope into string fields. Refuses DOCTYPE and entity declarations
 * (no XXE, no billion laughs), nested elements, repeated fields and documents over `maxBytes`.
 */
export function parseXml(body: string, maxBytes = DEFAULT_MAX_XML_BYTES): Record<string, string> {
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new XmlError(`document larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new XmlError('DOCTYPE and entity declarations are not allowed');
  let doc: unknown;
  try {
    doc = parser.parse(body, true);
  } catch (err) {
    throw new XmlError(`malformed XML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new XmlError('not an XML document');
  const root = (doc as Record<string, unknown>).xml;
  if (Object.keys(doc).length !== 1 || root === undefined) throw new XmlError('root element must be <xml>');
  if (root === '') return {};
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new XmlError('<xml> must hold fields');
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(root as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new XmlError(`field ${key} must be a single text value`);
    fields[key] = value;
  }
  return fields;
}
