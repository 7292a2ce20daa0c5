// The jury's desk: the queue's URL (filter and page), which decisions apply to a video, and deciding many held votes.
import type { QueuedVideo } from '$lib/api/client';

export type QueueShow = 'all' | 'open' | 'hidden';

/** `?ver=` values of the queue page (Spanish in the URL) and the API's `show`. */
const SHOW_PARAM: Record<string, QueueShow> = { reportados: 'open', ocultos: 'hidden' };
const PARAM_OF: Record<QueueShow, string> = { all: '', open: 'reportados', hidden: 'ocultos' };

/** Reads the queue's `?ver=` (default all) and `?pagina=` (from 1). */
export function queueQuery(url: URL): { show: QueueShow; page: number } {
	const show = SHOW_PARAM[url.searchParams.get('ver') ?? ''] ?? 'all';
	return { show, page: pageParam(url) };
}

/** The queue page's URL for a filter and page, leaving out the defaults. */
export function queueHref(show: QueueShow, page: number): string {
	const q = new URLSearchParams();
	if (PARAM_OF[show]) q.set('ver', PARAM_OF[show]);
	if (page > 1) q.set('pagina', String(page));
	const s = q.toString();
	return s ? `/jurado?${s}` : '/jurado';
}

/** `?pagina=` from 1; anything unreadable is page 1. */
export function pageParam(url: URL): number {
	return Math.max(1, Number.parseInt(url.searchParams.get('pagina') ?? '1', 10) || 1);
}

/** Pages of `size` for `total` items (at least one). */
export const pageCount = (total: number, size: number) => Math.max(1, Math.ceil(total / size));

export type Decision = 'hide' | 'restore' | 'dismiss';

/**
 * The decisions the API accepts for a video as it stands: hide unless staff already hid it, restore while it is hidden
 * (by reports or by staff), dismiss while it has open reports. Offering only these keeps a click from a 409.
 */
export function decisionsFor(video: Pick<QueuedVideo, 'visibility' | 'open_reports'>): Decision[] {
	const out: Decision[] = [];
	if (video.visibility !== 'hidden') out.push('hide');
	if (video.visibility !== 'visible') out.push('restore');
	if (video.open_reports > 0) out.push('dismiss');
	return out;
}

/**
 * Decides each of `items` in turn with `decide` (one request each, in order, so the audit log reads as they were
 * taken), stopping at the first one that fails for a reason other than being already decided (`skip`). Returns how
 * many were done, and the first failure's text.
 */
export async function decideAll<T>(
	items: readonly T[],
	decide: (item: T) => Promise<'done' | 'skip' | { error: string }>
): Promise<{ done: number; error: string }> {
	let done = 0;
	for (const item of items) {
		const outcome = await decide(item);
		if (outcome === 'done') done++;
		else if (outcome !== 'skip') return { done, error: outcome.error };
	}
	return { done, error: '' };
}
