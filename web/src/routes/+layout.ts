// Root layout options: a client-only SPA (no SSR, nothing prerendered; the API serves the fallback page).
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'ignore';
