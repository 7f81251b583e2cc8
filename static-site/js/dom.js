// Small DOM and time helpers. Every string reaches the page as a text node: nothing here
// (or anywhere in the page) parses HTML.

/**
 * Creates an element. `attrs`: attributes, except `class`, `text`, `on*` handlers (functions)
 * and boolean properties (`disabled`, `hidden`, `checked`). Children: nodes or strings (as text).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'disabled' || key === 'hidden' || key === 'checked') node[key] = true;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/**
 * Runs `task` now (`later`: after one wait) and then repeatedly: every `visibleMs`, or
 * `hiddenMs` while the tab is hidden.
 */
export function every(task, visibleMs, hiddenMs, later = false) {
  let timer = null;
  let stopped = false;
  let running = false;
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, document.hidden ? hiddenMs : visibleMs);
  };
  const run = async () => {
    if (stopped || running) return;
    running = true;
    try {
      await task();
    } catch (e) {
      // Each task reports its own failures; the loop goes on.
    } finally {
      running = false;
      schedule();
    }
  };
  const onVisibility = () => {
    if (!document.hidden) run();
    else schedule();
  };
  document.addEventListener('visibilitychange', onVisibility);
  if (later) schedule();
  else run();
  return {
    now: run,
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "14:05" today, "3 Mar, 14:05" otherwise (or just the date when `dateOnlyIfOld`). */
export function shortTime(iso, dateOnlyIfOld = false) {
  if (!iso) return '';
  const d = new Date(iso);
  if (sameDay(d, new Date())) return timeFormat.format(d);
  return dateOnlyIfOld ? dateFormat.format(d) : `${dateFormat.format(d)}, ${timeFormat.format(d)}`;
}

export function fullTime(iso) {
  return iso ? fullFormat.format(new Date(iso)) : '';
}

/** A `<time>` element showing `shortTime`, with the full date as its tooltip. */
export function timeElement(iso, dateOnlyIfOld = false) {
  return h('time', { datetime: iso, title: fullTime(iso) }, shortTime(iso, dateOnlyIfOld));
}

/** "45 s", "7 min", "2 h 05 min", "3 d 4 h". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A file's size for people: "812 B", "12 KB", "1.2 MB" (binary units); '' when unknown. */
export function fileSize(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  return `${shown} ${units[unit]}`;
}

export function since(iso) {
  return duration(Date.now() - new Date(iso).getTime());
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Characters as the API counts them: Unicode code points. */
export function codePoints(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export function displayName(conversation) {
  return conversation.name && conversation.name.trim() ? conversation.name : `+${conversation.phone}`;
}

/** Runs `change`, which rebuilds part of `root`, keeping the focus on a link to the same place. */
export function keepingFocus(root, change) {
  const href = root.contains(document.activeElement) && document.activeElement.getAttribute('href');
  change();
  if (href) [...root.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === href)?.focus();
}

/** Moves focus to the view's heading, so keyboard and screen-reader users start there. */
export function focusHeading(root) {
  const heading = root.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}
