// The upload page's rules and types: checks made before sending (size, length, resolution) and the answer the uploads share.
import type { paths } from '$lib/api/schema';
import type { ProblemInfo } from '$lib/problem';
import { megabytes, seconds } from '$lib/format';
import { titleRule } from '$lib/validation';
import { t } from '$lib/i18n';
import { uploadRules } from '$lib/rules';

const UPLOAD_PATH = '/api/videos/upload' satisfies keyof paths;
type Upload = paths[typeof UPLOAD_PATH]['post'];
/** The body of a response whatever its JSON media type is named. */
type BodyOf<R> = R extends { content: infer C } ? C[keyof C] : never;
export type UploadAccepted = BodyOf<Upload['responses'][201]>;

export const MAX_UPLOAD_BYTES = uploadRules.max_bytes;
export const MIN_SECONDS = uploadRules.min_seconds;
export const MAX_SECONDS = uploadRules.max_seconds;
export const MIN_SHORT_SIDE = uploadRules.min_short_side;
/** Browsers and MP4 headers may disagree by a few frames; the server has the last word. */
export const DURATION_SLACK = 0.05;

export interface Progress {
	loaded: number;
	total: number;
	/** Bytes per second over the last couple of seconds. */
	rate: number;
}

export type UploadResult =
	| { ok: true; accepted: UploadAccepted }
	| { ok: false; aborted: true }
	| { ok: false; aborted: false; problem: ProblemInfo };

export interface UploadHandle {
	done: Promise<UploadResult>;
	abort: () => void;
}

export interface VideoMeta {
	duration: number;
	width: number;
	height: number;
}

/** Why a file is refused before it is even read (empty, over the size limit), or null. */
export function sizeProblem(size: number): string | null {
	if (size === 0) return t.upload.empty;
	if (size > MAX_UPLOAD_BYTES) return t.upload.tooBig(`${megabytes(size)} MB`);
	return null;
}

/** Why a readable video is refused (no picture, too short or long, too small), or null when it may be sent. */
export function metaProblem(m: VideoMeta): string | null {
	const length = () => t.units.seconds(seconds(m.duration));
	if (m.width === 0 || m.height === 0) return t.upload.notVideo;
	if (m.duration < MIN_SECONDS - DURATION_SLACK) return t.upload.tooShort(length());
	if (m.duration > MAX_SECONDS + DURATION_SLACK) return t.upload.tooLong(length());
	if (Math.min(m.width, m.height) < MIN_SHORT_SIDE) return t.upload.lowRes(m.width, m.height);
	return null;
}

/** The title offered for a file: its name without the extension, `_` and `-` as spaces. */
export function titleFromFileName(name: string): string {
	return name.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ').trim().slice(0, titleRule.max);
}

/**
 * Reads duration and frame size from the file itself with a detached <video> element.
 * Resolves null when the browser cannot read it (the server then decides).
 */
export function readVideoMeta(file: File, timeoutMs = 15000): Promise<VideoMeta | null> {
	return new Promise((resolve) => {
		const url = URL.createObjectURL(file);
		const video = document.createElement('video');
		video.preload = 'metadata';
		video.muted = true;
		let settled = false;
		const finish = (meta: VideoMeta | null) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			video.removeAttribute('src');
			video.load();
			URL.revokeObjectURL(url);
			resolve(meta);
		};
		const timer = setTimeout(() => finish(null), timeoutMs);
		video.addEventListener('loadedmetadata', () =>
			finish({ duration: video.duration, width: video.videoWidth, height: video.videoHeight })
		);
		video.addEventListener('error', () => finish(null));
		video.src = url;
	});
}
