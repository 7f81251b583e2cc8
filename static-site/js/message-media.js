// A message's file in the history, by where it stands: being fetched, could not be kept, or
// stored — then a thumbnail that opens full size (images, stickers), the browser's player
// (audio, video) or a download with its name and size (documents); the caption as text
// below. The element is built at its final size at once and gets its link (media-links.js)
// when the API answers, so the history does not jump.
import { h, fileSize } from './dom.js';

const VIEWS = { image: 'image', sticker: 'image', audio: 'audio', video: 'video', document: 'document' };
const NOUNS = { image: 'photo', sticker: 'sticker', audio: 'audio', video: 'video', document: 'document' };
/** After a link renewed this recently, a failing file is shown as failing, not renewed again. */
const RENEW_GAP_MS = 20_000;

/** How to show the file: by the message's kind, else by its MIME type. */
function viewOf(m) {
  if (VIEWS[m.kind]) return VIEWS[m.kind];
  const type = (m.media.mime_type || '').split('/')[0];
  return ['image', 'audio', 'video'].includes(type) ? type : 'document';
}

const note = (text, extra = '') => h('p', { class: `media-note ${extra}`.trim() }, text);
const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** The file of message `m` (which has `media`) and its caption; `links`: media-links.js. */
export function mediaBlock(m, links) {
  const media = m.media;
  const view = viewOf(m);
  const noun = NOUNS[m.kind] || NOUNS[view];
  const caption = media.caption && media.caption.trim() ? media.caption : null;
  const file = {
    id: m.id,
    view,
    noun,
    caption,
    label: caption || `${capitalized(noun)} ${m.direction === 'inbound' ? 'from the user' : 'sent to the user'}`,
    filename: media.filename && media.filename.trim() ? media.filename : null,
    size: fileSize(media.size),
  };
  const slot = h('div', { class: `media media-${view}` });
  if (media.status === 'pending') slot.append(note(m.direction === 'inbound' ? 'Fetching the file…' : 'Uploading the file…'));
  else if (media.status === 'failed') {
    slot.append(note(`The file could not be kept: ${media.error?.title || 'unknown reason'}`, 'failure'));
  } else show(slot, file, links);
  return h('div', { class: 'media-block' }, slot, caption && h('p', { class: 'text caption' }, caption));
}

function show(slot, file, links) {
  const shown = build(file);
  slot.replaceChildren(shown.node);
  const giveUp = () => {
    const link = links.current(file.id);
    slot.replaceChildren(note('The file could not be shown here.'));
    if (link) slot.append(h('a', { class: 'button secondary', href: link.url, target: '_blank', rel: 'noopener' }, `Open the ${file.noun} in a new tab`));
  };
  if (shown.player) renewOnError(shown.player, file.id, links, shown.apply, giveUp);
  if (shown.link) renewOnClick(shown.link, file.id, links, shown.apply);
  links.get(file.id).then((link) => shown.apply(link.url), (error) => {
    if (error.status === 401) return; // the sign-in page takes over
    if (error.status === 404) {
      slot.replaceChildren(note('The file is not available.'));
      return;
    }
    slot.replaceChildren(
      note(`The file could not be loaded: ${error.message}`, 'failure'),
      h('button', { type: 'button', class: 'secondary', onclick: () => show(slot, file, links) }, 'Try again'),
    );
  });
}

/** The element for a stored file: `node`, `apply(url)` giving it its link, and what to watch. */
function build(file) {
  if (file.view === 'image') {
    const img = h('img', { class: 'thumb', alt: file.label, loading: 'lazy', decoding: 'async' });
    const name = `Open the ${file.noun} full size${file.caption ? `: ${file.caption}` : ''}`;
    const link = h('a', { class: 'thumb-link', target: '_blank', rel: 'noopener', 'aria-label': name, title: 'Open full size' }, img);
    return { node: link, player: img, link, apply(url) { img.src = url; link.href = url; } };
  }
  if (file.view === 'audio' || file.view === 'video') {
    const player = h(file.view, { class: 'player', controls: true, preload: 'metadata', playsinline: file.view === 'video', 'aria-label': file.label });
    return {
      node: player,
      player,
      apply(url) {
        // A renewed link keeps the place in the recording.
        const at = player.currentTime;
        player.src = url;
        if (at) player.currentTime = at;
      },
    };
  }
  const name = file.filename || capitalized(file.noun);
  // No `download` attribute: browsers ignore it across origins; the object store serves
  // documents with `Content-Disposition: attachment` and their own name.
  const link = h('a', { class: 'document' },
    h('span', { class: 'doc-icon', 'aria-hidden': 'true' }, '📄'),
    h('span', { class: 'doc-text' },
      h('span', { class: 'visually-hidden' }, 'Download '),
      h('span', { class: 'doc-name' }, name),
      file.size && h('span', { class: 'doc-size' }, ` · ${file.size}`)));
  return { node: link, link, apply(url) { link.href = url; } };
}

/** A click on a link whose URL has expired asks for a new one first, then goes on. */
function renewOnClick(link, id, links, apply) {
  let again = false;
  link.addEventListener('click', (event) => {
    if (again || !link.hasAttribute('href') || links.current(id)) {
      again = false;
      return;
    }
    event.preventDefault();
    links.get(id, { renew: true }).then((fresh) => {
      apply(fresh.url);
      again = true;
      link.click();
    }, () => {});
  });
}

/** An image or player that fails to load (most often: its link expired) tries a new link once. */
function renewOnError(element, id, links, apply, giveUp) {
  let renewedAt = 0;
  element.addEventListener('error', () => {
    if (!element.getAttribute('src')) return;
    if (Date.now() - renewedAt < RENEW_GAP_MS) {
      giveUp();
      return;
    }
    renewedAt = Date.now();
    links.get(id, { renew: true }).then((fresh) => apply(fresh.url), giveUp);
  });
}
