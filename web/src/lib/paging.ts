// The city filter and page number that the showcase and the rankings keep in their URL (?ciudad=, ?pagina=).

export interface ListQuery {
	/** The city filter, trimmed; '' for none. */
	city: string;
	/** The page number, from 1. */
	page: number;
}

/** Reads `?ciudad=` and `?pagina=`; a missing or unreadable page number is page 1. */
export function listQuery(url: URL): ListQuery {
	const city = url.searchParams.get('ciudad')?.trim() || '';
	const page = Math.max(1, Number.parseInt(url.searchParams.get('pagina') ?? '1', 10) || 1);
	return { city, page };
}

/** The URL of page `page` of `path` filtered by `city`, leaving out what is the default. */
export function listHref(path: string, page: number, city: string): string {
	const q = new URLSearchParams();
	if (city) q.set('ciudad', city);
	if (page > 1) q.set('pagina', String(page));
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}
