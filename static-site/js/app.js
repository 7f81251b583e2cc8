// The admin page: hash routes, the session (with the admin's role), the desk's socket
// (live.js) and the unread count in the tab title. The views few open (Team, Activity,
// Reports, canned replies) are loaded when first opened.
import * as api from './api.js';
import { h, focusHeading } from './dom.js';
import { showError } from './feedback.js';
import { createLive } from './live.js';
import { showLive } from './live-indicator.js';
import { keepUpdated, throttle, DASHBOARD_MIN_MS } from './polling.js';
import { renderSignIn } from './signin.js';
import { renderDashboard } from './dashboard.js';
import { renderConversations } from './conversations.js';
import { renderConversation } from './conversation.js';

const BASE_TITLE = 'EduBot support desk';
const main = document.getElementById('main');
const nav = document.getElementById('site-nav');
const connection = document.getElementById('connection');
const indicator = document.getElementById('live');
const whoami = document.getElementById('whoami');
/** Views loaded on demand (each `render(root, context)` → cleanup), by route. */
const LATER = {
  team: () => import('./team.js'),
  activity: () => import('./activity.js'),
  reports: () => import('./reports.js'),
  'canned-replies': () => import('./canned-replies.js'),
};
let routed = 0; // each route() counts: a view that loads after the next one is not shown
const live = createLive();
live.subscribe({ change: (up) => showLive(indicator, up) });

let cleanup = null;
let titleUpdates = null;
let expiryTimer = null;
let pageTitle = BASE_TITLE;
let unreadInSupport = 0;

/**
 * Routes: `#/`, `#/conversations[?filter=support|mine|unassigned][&q=…]`,
 * `#/conversations/<phone>`, `#/canned-replies`, `#/team`, `#/activity`,
 * `#/reports[?days=7|30|92, or ?from=YYYY-MM-DD&to=YYYY-MM-DD]`.
 */
function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  const conversation = path.match(/^\/conversations\/([0-9]{8,15})$/);
  if (conversation) return { name: 'conversation', phone: conversation[1], params };
  if (path === '/conversations') return { name: 'conversations', params };
  const later = path.slice(1);
  if (Object.hasOwn(LATER, later)) return { name: later, params };
  return { name: 'dashboard', params };
}

function updateTitle() {
  document.title = unreadInSupport > 0 ? `(${unreadInSupport}) ${pageTitle}` : pageTitle;
}

/** Each view names its page; the unread count of chat-support messages goes in front. */
function setPageTitle(title) {
  pageTitle = title ? `${title} · ${BASE_TITLE}` : BASE_TITLE;
  updateTitle();
}

/** Connection trouble, shown under the header until the next successful call. */
function reportConnection(error) {
  if (error && error.status === 0) {
    connection.textContent = 'Connection problem: retrying…';
    connection.hidden = false;
  } else if (!error) {
    connection.hidden = true;
    connection.textContent = '';
  }
}

async function readUnread() {
  try {
    unreadInSupport = (await api.dashboard()).total_unread || 0;
    updateTitle();
    reportConnection(null);
  } catch (e) {
    reportConnection(e);
  }
}
const refreshUnread = throttle(() => titleUpdates?.now(), DASHBOARD_MIN_MS);

function signedOut(notice) {
  routed += 1;
  titleUpdates?.stop();
  titleUpdates = null;
  live.stop();
  indicator.hidden = true;
  clearTimeout(expiryTimer);
  unreadInSupport = 0;
  cleanup?.();
  cleanup = null;
  nav.hidden = true;
  reportConnection(null);
  setPageTitle('Sign in');
  const returnTo = location.hash && location.hash !== '#/' ? location.hash : '';
  renderSignIn(main, {
    notice,
    onSignedIn(s) {
      signedIn(s);
      if (returnTo && location.hash !== returnTo) location.hash = returnTo;
      else route();
    },
  });
}

function signedIn(s) {
  nav.hidden = false;
  // Team and Activity are a supervisor's; the server refuses them to anyone else all the same.
  for (const link of nav.querySelectorAll('[data-role]')) link.hidden = link.dataset.role !== s.role;
  whoami.textContent = `${s.username} · ${s.role || 'admin'}`;
  whoami.title = whoami.textContent; // the whole of a name cut short
  clearTimeout(expiryTimer);
  const left = Date.parse(s.expires_at) - Date.now();
  // setTimeout holds at most ~24.8 days; tokens live hours.
  expiryTimer = setTimeout(() => expire('expired'), Math.min(left, 2 ** 31 - 1));
  showLive(indicator, false, true);
  live.start();
  titleUpdates?.stop();
  titleUpdates = keepUpdated(live, readUnread, (e) => { if (e.type === 'conversation') refreshUnread(); });
}

function expire(reason) {
  if (!nav.hidden || api.session()) {
    api.clearSession();
    signedOut(reason === 'expired'
      ? 'Your session has expired. Please sign in again.'
      : 'Your session is no longer valid. Please sign in again.');
  }
}

function route() {
  if (!api.session()) {
    if (!nav.hidden || api.hadExpiredSession()) {
      api.clearSession();
      signedOut('Your session has expired. Please sign in again.');
    } else if (!main.querySelector('#sign-in-form')) {
      signedOut(null);
    }
    return;
  }
  cleanup?.();
  cleanup = null;
  const mine = ++routed;
  const r = parseRoute();
  for (const link of nav.querySelectorAll('a[data-nav]')) {
    const current = link.dataset.nav === r.name || (r.name === 'conversation' && link.dataset.nav === 'conversations');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const context = { setPageTitle, reportConnection, refreshUnread, live };
  main.replaceChildren();
  if (r.name === 'conversation') cleanup = renderConversation(main, r.phone, context);
  else if (r.name === 'conversations') cleanup = renderConversations(main, r.params, context);
  else if (LATER[r.name]) {
    main.append(h('p', { class: 'loading' }, 'Loading…'));
    LATER[r.name]().then((view) => {
      if (mine !== routed) return;
      main.replaceChildren();
      cleanup = view.render(main, { ...context, params: r.params });
      focusHeading(main);
    }, () => {
      if (mine === routed) showError(main, 'This page could not be loaded. Check the connection.', { action: { label: 'Try again', run: route } });
    });
    return;
  } else cleanup = renderDashboard(main, context);
  focusHeading(main);
}

api.setUnauthorizedHandler((reason) => expire(reason));

document.getElementById('sign-out').addEventListener('click', () => {
  api.clearSession();
  location.hash = '#/';
  signedOut('You have signed out.');
});

// The skip link moves focus without touching the address (which holds the route).
document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', route);

const existing = api.session();
if (existing) signedIn(existing);
route();
