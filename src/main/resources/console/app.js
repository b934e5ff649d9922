// The console's shell: sign in with a pasted token, a menu of views (the URL's #fragment), sign out.

import { api, session, onTokenRefused } from './api.js';
import { h, notice } from './dom.js';
import { VIEWS } from './views.js';

const signInSection = document.getElementById('sign-in');
const consoleSection = document.getElementById('console');
const signInForm = document.getElementById('sign-in-form');
const tokenInput = document.getElementById('token');
const signInMessage = document.getElementById('sign-in-message');
const nav = document.getElementById('nav');
const viewRoot = document.getElementById('view');
const who = document.getElementById('who');
let cleanup = null;

/** The subject of a JWT, read for display only (the gateway verifies the token, not the page). */
function subjectOf(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}

function showSignIn(message, tone = 'bad') {
  if (cleanup) cleanup();
  cleanup = null;
  viewRoot.replaceChildren();
  consoleSection.hidden = true;
  signInSection.hidden = false;
  signInMessage.replaceChildren(message ? notice(tone, message) : '');
  tokenInput.value = '';
  tokenInput.focus();
}

function showConsole() {
  signInSection.hidden = true;
  consoleSection.hidden = false;
  const subject = subjectOf(session.token());
  who.textContent = subject ? 'Signed in as ' + subject : 'Signed in';
  render();
}

function currentView() {
  const name = location.hash.replace(/^#\/?/, '');
  return VIEWS.find(([id]) => id === name) || VIEWS[0];
}

function render() {
  if (consoleSection.hidden) return;
  if (cleanup) cleanup();
  const [id, , view] = currentView();
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.view === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // a fresh element per view: a slow answer for the view left behind lands nowhere visible
  const root = h('section', { class: 'view', 'data-view': id, 'data-state': 'loading' });
  viewRoot.replaceChildren(root);
  cleanup = view(root) || null;
}

nav.replaceChildren(...VIEWS.map(([id, title]) => h('a', { href: '#/' + id, 'data-view': id }, title)));
window.addEventListener('hashchange', render);

signInForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    signInMessage.replaceChildren(notice('bad', 'Paste a token first (java -jar switchboard.jar token --sub NAME --role operator prints one).'));
    return;
  }
  // the token is checked once before it is kept: a refused one is never stored
  try {
    await api('/api/v1/providers', { token });
  } catch (err) {
    if (err.status === 401 || err.status === 0) {
      signInMessage.replaceChildren(notice('bad', err.message));
      return;
    }
    if (err.status === 403) {
      session.signIn(token);
      showConsole();
      return;
    }
  }
  session.signIn(token);
  showConsole();
});

document.getElementById('sign-out').addEventListener('click', () => {
  session.signOut();
  showSignIn('Signed out. The token is forgotten by this tab.', 'info');
});

onTokenRefused((err) => {
  session.signOut();
  showSignIn(err.message);
});

if (session.token()) {
  showConsole();
} else {
  showSignIn(null);
}
