// Reactions (DESIGN §14): chips on the message reacted to; a reaction is never a bubble.
import { h } from './dom.js';

/** The reactions after reaction message `r` (one per author; `text` null: removed). */
export function withReaction(reactions, r) {
  const kept = (reactions || []).filter((x) => x.author !== r.author);
  return r.text ? [...kept, { emoji: r.text, author: r.author }] : kept;
}

/** The chips of `reactions`, each titled with who reacted (`nameOf(author)`); null when none. */
export function reactionsNode(reactions, nameOf) {
  if (!reactions || reactions.length === 0) return null;
  return h('p', { class: 'reactions' }, reactions.map((r) => h('span', { class: 'reaction', role: 'img', title: nameOf(r.author), 'aria-label': `${r.emoji} from ${nameOf(r.author)}` }, r.emoji)));
}
