// The tracker's JSON API (/api/v1/, see docs/web.md). Requests carry the session cookie;
// a 401 means the session ended, so the page reloads and the server answers the login page.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

// Fetches `path` and returns its parsed JSON body. Throws ApiError for a non-2xx answer
// (with the server's {"error": ...} message), and the fetch's own error when the request
// fails or is aborted through `signal`.
export async function getJson(path, signal) {
  const response = await fetch(path, {
    credentials: 'same-origin',
    headers: {Accept: 'application/json'},
    cache: 'no-store',
    signal,
  });
  if (response.status === 401) {
    window.location.reload();
    throw new ApiError(401, 'signed out');
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    if (response.ok) throw new ApiError(response.status, `bad JSON from ${path}`);
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : response.statusText;
    throw new ApiError(response.status, message || `HTTP ${response.status}`);
  }
  return body;
}

export function jobPath(name) {
  return `/api/v1/jobs/${encodeURIComponent(name)}`;
}
