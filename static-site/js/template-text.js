// A template's body filled in, and the server's checks on its parameters (DESIGN §13).
import { codePoints } from './dom.js';
import { MAX_TEMPLATE_CHARS } from './limits.js';
const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;

/** The body as parts: strings, and `{n}` for a placeholder whose parameter is still blank. */
export function fillParts(body, values) {
  const parts = [];
  let at = 0;
  for (const m of body.matchAll(PLACEHOLDER)) {
    parts.push(body.slice(at, m.index));
    const value = values[Number(m[1]) - 1];
    parts.push(value && value.trim() ? value : { n: Number(m[1]) });
    at = m.index + m[0].length;
  }
  parts.push(body.slice(at));
  return parts.filter((p) => p !== '');
}

export const filled = (body, values) => fillParts(body, values).map((p) => (typeof p === 'string' ? p : `{{${p.n}}}`)).join('');

/** Why WhatsApp would refuse parameter `n` (1-based), or null. */
export function parameterProblem(value, n) {
  const name = `Parameter ${n}`;
  if (!value.trim()) return `${name} is blank: fill it in.`;
  if (/[\r\n]/.test(value)) return `${name} holds a line break: WhatsApp takes one line.`;
  if (value.includes('\t')) return `${name} holds a tab: WhatsApp takes none.`;
  if (/ {5}/.test(value)) return `${name} holds more than 4 spaces in a row: WhatsApp takes at most 4.`;
  return null;
}

/** Every reason the send would be refused: `[{n, text}]` (`n` null for the whole message). */
export function templateProblems(template, values) {
  const problems = values.map((v, i) => ({ n: i + 1, text: parameterProblem(v, i + 1) })).filter((p) => p.text);
  const length = codePoints(filled(template.body, values));
  if (length > MAX_TEMPLATE_CHARS) {
    problems.push({ n: null, text: `The filled-in message is ${length} characters: WhatsApp takes at most ${MAX_TEMPLATE_CHARS}.` });
  }
  return problems;
}
