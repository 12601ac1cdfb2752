/**
 * Fetching the widget's data from the LMS: GET /microcred/api/v1/me/dashboard-widget/.
 *
 * A fetcher is any `async (url) => json`. The widget takes one ready-made (`fetcher`), or builds
 * one around an axios-like HTTP client (`httpClient`, or `getHttpClient`, e.g. frontend-platform's
 * getAuthenticatedHttpClient, which sends the learner's JWT), or falls back to the browser's
 * `fetch` with the LMS session cookie (`credentials: 'include'`).
 */

export const WIDGET_PATH = '/microcred/api/v1/me/dashboard-widget/';
export const MY_CREDENTIALS_PATH = '/microcred/my/';

export class WidgetError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'WidgetError';
    this.status = status;
  }
}

function base(lmsBaseUrl) {
  return String(lmsBaseUrl || '').replace(/\/+$/, '');
}

export function widgetUrl(lmsBaseUrl) {
  return `${base(lmsBaseUrl)}${WIDGET_PATH}`;
}

export function myCredentialsUrl(lmsBaseUrl) {
  return `${base(lmsBaseUrl)}${MY_CREDENTIALS_PATH}`;
}

export function httpClientFetcher(httpClient) {
  return async (url) => {
    try {
      const response = await httpClient.get(url);
      return response.data;
    } catch (error) {
      const status = error && error.response ? error.response.status : undefined;
      throw new WidgetError(status ? `HTTP ${status}` : String((error && error.message) || error), status);
    }
  };
}

export function browserFetcher(fetchImpl) {
  return async (url) => {
    const doFetch = fetchImpl || globalThis.fetch;
    const response = await doFetch(url, { credentials: 'include', headers: { Accept: 'application/json' } });
    if (!response.ok) {
      throw new WidgetError(`HTTP ${response.status}`, response.status);
    }
    return response.json();
  };
}

/** The fetcher the widget uses, from its props. */
export function chooseFetcher({ fetcher, httpClient, getHttpClient } = {}) {
  if (fetcher) {
    return fetcher;
  }
  const client = httpClient || (getHttpClient ? getHttpClient() : null);
  if (client) {
    return httpClientFetcher(client);
  }
  return browserFetcher();
}
