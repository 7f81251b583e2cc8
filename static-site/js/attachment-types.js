// The files WhatsApp takes (docs/media.md, "Files admins send"): what the file picker offers,
// the MIME type a chosen file is declared as, and a quick check of its size. The server
// checks again and has the last word (the type above all: an unknown one is left to it).
import { MAX_FILE_BYTES } from './limits.js';

const DOCUMENTS = [
  'application/pdf', 'text/plain', 'application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
];
const KINDS = {
  'image/jpeg': 'image', 'image/png': 'image',
  'audio/aac': 'audio', 'audio/mp4': 'audio', 'audio/mpeg': 'audio', 'audio/amr': 'audio', 'audio/ogg': 'audio',
  'video/mp4': 'video', 'video/3gpp': 'video',
  ...Object.fromEntries(DOCUMENTS.map((t) => [t, 'document'])),
};
// Names browsers give some of these types, and types by extension when the browser gives none.
const ALIASES = { 'image/jpg': 'image/jpeg', 'audio/x-m4a': 'audio/mp4', 'audio/m4a': 'audio/mp4', 'audio/mp3': 'audio/mpeg', 'audio/x-aac': 'audio/aac', 'audio/opus': 'audio/ogg', 'audio/3gpp': 'video/3gpp' };
const BY_EXTENSION = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', pdf: 'application/pdf', txt: 'text/plain',
  doc: DOCUMENTS[2], xls: DOCUMENTS[3], ppt: DOCUMENTS[4], docx: DOCUMENTS[5], xlsx: DOCUMENTS[6], pptx: DOCUMENTS[7],
  aac: 'audio/aac', m4a: 'audio/mp4', mp3: 'audio/mpeg', amr: 'audio/amr', ogg: 'audio/ogg', opus: 'audio/ogg',
  mp4: 'video/mp4', '3gp': 'video/3gpp',
};

/** The file picker's `accept`: the types, and the extensions browsers may not know a type for. */
export const ACCEPT = [...Object.keys(KINDS), '.amr', '.aac', '.m4a', '.ogg', '.opus', '.3gp'].join(',');

/** The kind WhatsApp sends a file of `type` as (image, document, audio, video), or null. */
export function kindOf(type) {
  return KINDS[type.split(';')[0].trim()] || null;
}

/**
 * The MIME type to declare `file` as: the browser's (by its usual name), else by the name's
 * extension. OGG audio is declared with the Opus codec when its header says Opus (WhatsApp
 * takes no other); anything unknown is declared as it is, for the server to explain.
 */
export async function fileType(file) {
  const given = (file.type || '').toLowerCase();
  const extension = (file.name.match(/\.([a-z0-9]+)$/i) || [])[1]?.toLowerCase();
  const type = ALIASES[given] || given || BY_EXTENSION[extension] || 'application/octet-stream';
  if (type === 'audio/ogg' && await isOpus(file)) return 'audio/ogg; codecs=opus';
  return type;
}

async function isOpus(file) {
  try {
    const head = new TextDecoder('latin1').decode(await file.slice(0, 80).arrayBuffer());
    return head.startsWith('OggS') && head.includes('OpusHead');
  } catch (e) {
    return false;
  }
}

/** Why WhatsApp would refuse a file of `type` and `size` for its size, or null. */
export function sizeRefusal(type, size) {
  if (size === 0) return 'The file is empty.';
  const limit = MAX_FILE_BYTES[kindOf(type)];
  return limit && size > limit[0] ? limit[1] : null;
}
