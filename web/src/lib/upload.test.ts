// What the upload page refuses before sending anything: size, duration and resolution.
import { describe, expect, it } from 'vitest';
import { DURATION_SLACK, MAX_UPLOAD_BYTES, metaProblem, sizeProblem, titleFromFileName } from './upload';
import { t } from './i18n';

describe('sizeProblem', () => {
	it('refuses an empty file and one over 100 MB, saying its size', () => {
		expect(sizeProblem(0)).toBe(t.upload.empty);
		expect(sizeProblem(1)).toBeNull();
		expect(sizeProblem(MAX_UPLOAD_BYTES)).toBeNull();
		expect(sizeProblem(MAX_UPLOAD_BYTES + 1)).toBe(t.upload.tooBig('100,0 MB'));
		expect(sizeProblem(150 * 1024 * 1024)).toBe('El archivo pesa 150,0 MB; el máximo es 100 MB.');
	});
});

describe('metaProblem', () => {
	const ok = { duration: 30, width: 1920, height: 1080 };

	it('accepts 20 to 60 seconds at 1080p or more, landscape or portrait', () => {
		expect(metaProblem(ok)).toBeNull();
		expect(metaProblem({ ...ok, width: 1080, height: 1920 })).toBeNull();
		expect(metaProblem({ ...ok, width: 3840, height: 2160 })).toBeNull();
		expect(metaProblem({ ...ok, duration: 20 })).toBeNull();
		expect(metaProblem({ ...ok, duration: 60 })).toBeNull();
	});

	it('allows a few frames either way, as browsers and MP4 headers disagree', () => {
		expect(metaProblem({ ...ok, duration: 20 - DURATION_SLACK })).toBeNull();
		expect(metaProblem({ ...ok, duration: 60 + DURATION_SLACK })).toBeNull();
	});

	it('refuses a short or long clip with its length', () => {
		expect(metaProblem({ ...ok, duration: 10 })).toBe('El video dura 10,0 s; debe durar al menos 20 segundos.');
		expect(metaProblem({ ...ok, duration: 19.9 })).toBe(t.upload.tooShort(t.units.seconds('19,9')));
		expect(metaProblem({ ...ok, duration: 61 })).toBe(t.upload.tooLong(t.units.seconds('61,0')));
	});

	it('refuses a short side under 1080 px with the resolution', () => {
		expect(metaProblem({ ...ok, width: 1280, height: 720 })).toBe(t.upload.lowRes(1280, 720));
		expect(metaProblem({ ...ok, width: 1920, height: 1079 })).toBe(t.upload.lowRes(1920, 1079));
		expect(metaProblem({ ...ok, width: 720, height: 1280 })).toBe(t.upload.lowRes(720, 1280));
	});

	it('refuses a file without a picture before anything else', () => {
		expect(metaProblem({ duration: 5, width: 0, height: 0 })).toBe(t.upload.notVideo);
	});
});

describe('titleFromFileName', () => {
	it('offers the name without its extension, separators as spaces', () => {
		expect(titleFromFileName('doble_crossover-final.mp4')).toBe('doble crossover final');
		expect(titleFromFileName('mate.2024.mov')).toBe('mate.2024');
		expect(titleFromFileName('__clip__.mp4')).toBe('clip');
	});

	it('keeps within the title limit', () => {
		expect(titleFromFileName(`${'x'.repeat(300)}.mp4`)).toHaveLength(200);
	});
});
