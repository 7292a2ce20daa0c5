// Signed links that stay put while a page refreshes its data: a playing clip keeps its `src`.

interface Linked {
	processed_url?: string | null;
	poster_url?: string | null;
}

/**
 * Every answer of the API signs its file links anew, and a `<video>` whose `src` changes starts over. The
 * function returned gives back the first links it saw for each key (a video, or a video in one status, so
 * that a new status brings new links), for as long as the page that made it lives.
 */
export function linkPinner(): <T extends Linked>(key: string, item: T) => T {
	const pinned = new Map<string, Linked>();
	return (key, item) => {
		const kept = pinned.get(key);
		if (kept) return { ...item, processed_url: kept.processed_url, poster_url: kept.poster_url };
		if (item.processed_url || item.poster_url) {
			pinned.set(key, { processed_url: item.processed_url, poster_url: item.poster_url });
		}
		return item;
	};
}
