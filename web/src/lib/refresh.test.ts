// What pages keep across refreshes of their data: the last good answer, and signed links.
import { describe, expect, it } from 'vitest';
import { keepLast } from './keep-last';
import { linkPinner } from './links';
import { pending } from './my-videos';

describe('keepLast', () => {
	it('gives back the last value of the same key when a refresh fails', () => {
		const last = keepLast<string[]>();
		expect(last('Cali 1', ['a'])).toEqual(['a']);
		expect(last('Cali 1', null)).toEqual(['a']);
		expect(last('Cali 1', ['b'])).toEqual(['b']);
		expect(last('Cali 1', null)).toEqual(['b']);
	});

	it('forgets it for another key', () => {
		const last = keepLast<string[]>();
		last('Cali 1', ['a']);
		expect(last('Cali 2', null)).toBeNull();
		expect(last('Cali 1', null)).toBeNull();
	});

	it('starts empty', () => {
		expect(keepLast<number>()('k', null)).toBeNull();
	});
});

describe('linkPinner', () => {
	const video = (n: number, status = 'processed') => ({
		video_id: 'v1',
		status,
		title: `t${n}`,
		processed_url: `/files/v1.mp4?expires=${n}`,
		poster_url: `/files/v1.jpg?expires=${n}`
	});

	it('keeps the first links of a key, and the rest of the newer answer', () => {
		const pin = linkPinner();
		expect(pin('v1', video(1))).toEqual(video(1));
		expect(pin('v1', video(2))).toEqual({ ...video(2), processed_url: video(1).processed_url, poster_url: video(1).poster_url });
	});

	it('takes new links for a new key (another video, or the same in a new status)', () => {
		const pin = linkPinner();
		pin('v1\nprocessed', video(1));
		expect(pin('v1\nfailed', video(2, 'failed')).processed_url).toBe(video(2).processed_url);
		expect(pin('v2', video(3)).poster_url).toBe(video(3).poster_url);
	});

	it('pins nothing until there are links', () => {
		const pin = linkPinner();
		expect(pin('v1', { processed_url: null, poster_url: null })).toEqual({ processed_url: null, poster_url: null });
		expect(pin('v1', video(5)).processed_url).toBe(video(5).processed_url);
	});

	it('is one memory per page: another pinner starts afresh', () => {
		linkPinner()('v1', video(1));
		expect(linkPinner()('v1', video(2)).processed_url).toBe(video(2).processed_url);
	});
});

describe('pending', () => {
	it('is true while a video is queued or processing', () => {
		expect(pending([{ status: 'processed' }, { status: 'uploaded' }])).toBe(true);
		expect(pending([{ status: 'processing' }])).toBe(true);
		expect(pending([{ status: 'processed' }, { status: 'failed' }])).toBe(false);
		expect(pending([])).toBe(false);
		expect(pending(null)).toBe(false);
	});
});
