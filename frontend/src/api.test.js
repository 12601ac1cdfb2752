import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  WidgetError, browserFetcher, chooseFetcher, httpClientFetcher, myCredentialsUrl, widgetUrl,
} from './api';

afterEach(() => { vi.unstubAllGlobals(); });

function jsonResponse(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('URLs', () => {
  it('are built on the LMS base URL, or the same origin', () => {
    expect(widgetUrl('https://lms.example.org/')).toBe('https://lms.example.org/microcred/api/v1/me/dashboard-widget/');
    expect(widgetUrl('')).toBe('/microcred/api/v1/me/dashboard-widget/');
    expect(myCredentialsUrl(undefined)).toBe('/microcred/my/');
  });
});

describe('the default fetcher', () => {
  it('is the browser fetch with the session cookie', async () => {
    const fetch = vi.fn(async () => jsonResponse({ badges_count: 1 }));
    vi.stubGlobal('fetch', fetch);
    const fetcher = chooseFetcher({});
    expect(await fetcher('https://lms.example.org/x')).toEqual({ badges_count: 1 });
    expect(fetch).toHaveBeenCalledWith('https://lms.example.org/x', {
      credentials: 'include', headers: { Accept: 'application/json' },
    });
  });

  it('turns an HTTP error into a WidgetError with the status', async () => {
    const fetcher = browserFetcher(async () => jsonResponse({ detail: 'no' }, 401));
    await expect(fetcher('/x')).rejects.toMatchObject({ name: 'WidgetError', status: 401 });
  });
});

describe('an authenticated HTTP client (frontend-platform)', () => {
  it('is used when given, or made by getHttpClient', async () => {
    const client = { get: vi.fn(async () => ({ data: { badges_count: 3 } })) };
    expect(await chooseFetcher({ httpClient: client })('/a')).toEqual({ badges_count: 3 });
    expect(await chooseFetcher({ getHttpClient: () => client })('/b')).toEqual({ badges_count: 3 });
    expect(client.get.mock.calls).toEqual([['/a'], ['/b']]);
  });

  it('reports the status of a failed request', async () => {
    const failure = Object.assign(new Error('Request failed'), { response: { status: 403 } });
    const fetcher = httpClientFetcher({ get: async () => { throw failure; } });
    const error = await fetcher('/x').catch((e) => e);
    expect(error).toBeInstanceOf(WidgetError);
    expect(error.status).toBe(403);
  });

  it('a fetcher given directly wins', () => {
    const fetcher = async () => ({});
    expect(chooseFetcher({ fetcher, httpClient: { get: vi.fn() } })).toBe(fetcher);
  });
});
