// The header's "Live" / "Reconnecting…": whether changes reach the page at once (live.js).
import { POLL_MS } from './polling.js';

export function showLive(element, up, before = false) {
  element.textContent = up ? 'Live' : (before ? 'Connecting…' : 'Reconnecting…');
  element.title = up ? 'Changes appear as they happen.' : `Not connected: checking for changes every ${POLL_MS / 1000} s.`;
  element.classList.toggle('down', !up);
  element.hidden = false;
}
