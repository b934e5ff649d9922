// The API as the console calls it: the pasted token, kept for this tab only (sessionStorage), sent
// as a Bearer token; every error becomes an ApiError whose message says what happened and what to do.

const TOKEN_KEY = 'switchboard.console.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Listeners told when the gateway refuses the token (401): the app signs out. */
const refused = new Set();
export function onTokenRefused(listener) {
  refused.add(listener);
}

/** A request to the gateway; resolves to the parsed JSON (or the text, with raw), null for a 204. */
export async function api(path, { method = 'GET', body, raw = false, token = session.token() } = {}) {
  const headers = { Accept: raw ? 'text/plain' : 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'The gateway could not be reached (' + e.message + '). Is it running?');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  if (!raw && text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const detail = (json && json.error && json.error.message) || text || response.statusText;
    const error = new ApiError(response.status, describe(response.status, method, path, detail), json && json.error && json.error.code);
    if (response.status === 401) refused.forEach((listener) => listener(error));
    throw error;
  }
  return raw ? text : json;
}

function describe(status, method, path, detail) {
  const what = method + ' ' + path.split('?')[0];
  if (status === 401) {
    return 'The token was refused (401: missing, invalid or expired). Sign in again with a valid token.';
  }
  if (status === 403) {
    return 'This token may not do this (403 on ' + what + '): its role or scope does not allow it. The gateway says: ' + detail;
  }
  if (status === 429) {
    return 'Too many requests (429 on ' + what + '): wait a moment and try again. The gateway says: ' + detail;
  }
  return 'The gateway answered ' + status + ' to ' + what + ': ' + detail;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v != null && v !== '') q.append(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
