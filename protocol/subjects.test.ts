import { describe, expect, it } from 'vitest';
import { assertId, filters, parseSubject, subjects, tenantOfSubject } from './subjects.ts';

describe('subjects', () => {
  it('builds every family', () => {
    expect(subjects.job('acme', 'submit')).toBe('ferry.jobs.acme.submit');
    expect(subjects.job('acme', 'scan-done')).toBe('ferry.jobs.acme.scan-done');
    expect(subjects.work('acme', 'upload', 'j-1')).toBe('ferry.work.acme.upload.j-1');
    expect(subjects.event('acme', 'j_1', 'progress')).toBe('ferry.events.acme.j_1.progress');
    expect(subjects.dlq('acme', 'scanner')).toBe('ferry.dlq.acme.scanner');
    expect(subjects.dlq(undefined, 'scanner')).toBe('ferry.dlq._.scanner');
  });

  it('builds wildcard filters', () => {
    expect(filters.work('scan')).toBe('ferry.work.*.scan.*');
    expect(filters.work(undefined, 'acme')).toBe('ferry.work.acme.*.*');
    expect(filters.jobs()).toBe('ferry.jobs.*.*');
    expect(filters.events({ tenant: 'acme' })).toBe('ferry.events.acme.*.*');
    expect(filters.events({ jobId: 'j1', type: 'state' })).toBe('ferry.events.*.j1.state');
    expect(filters.dlq()).toBe('ferry.dlq.*.*');
  });

  it('rejects IDs that could escape a subject or path', () => {
    for (const bad of ['', 'a.b', 'a*', '>', 'a b', '../x', 'é', 'x'.repeat(65), 'a\nb']) {
      expect(() => subjects.work(bad, 'scan', 'j1'), bad).toThrow(expect.objectContaining({ code: 'protocol.bad-id' }));
      expect(() => subjects.work('t', 'scan', bad), bad).toThrow(expect.objectContaining({ code: 'protocol.bad-id' }));
    }
    expect(assertId('A-z_09', 'id')).toBe('A-z_09');
    expect(() => subjects.work('t', 'nope' as 'scan', 'j')).toThrow(expect.objectContaining({ code: 'protocol.bad-subject' }));
  });

  it('parses what it builds and refuses anything else', () => {
    expect(parseSubject('ferry.jobs.acme.cancel')).toEqual({ family: 'jobs', tenant: 'acme', kind: 'cancel' });
    expect(parseSubject('ferry.work.acme.verify.j9')).toEqual({ family: 'work', tenant: 'acme', task: 'verify', jobId: 'j9' });
    expect(parseSubject('ferry.events.acme.j9.step')).toEqual({ family: 'events', tenant: 'acme', jobId: 'j9', type: 'step' });
    expect(parseSubject('ferry.dlq._.uploader')).toEqual({ family: 'dlq', tenant: undefined, actor: 'uploader' });
    for (const bad of ['ferry', 'other.jobs.a.submit', 'ferry.jobs.a', 'ferry.jobs.a.submit.x', 'ferry.work.a.nap.j', 'ferry.nope.a.b']) {
      expect(() => parseSubject(bad), bad).toThrow(expect.objectContaining({ code: 'protocol.bad-subject' }));
    }
    expect(() => parseSubject('ferry.work.a*.scan.j')).toThrow(expect.objectContaining({ code: 'protocol.bad-id' }));
  });

  it('finds the tenant of untrusted subjects without throwing', () => {
    expect(tenantOfSubject('ferry.work.acme.scan.j1')).toBe('acme');
    expect(tenantOfSubject('ferry.jobs._.submit')).toBeUndefined();
    expect(tenantOfSubject('x.y')).toBeUndefined();
    expect(tenantOfSubject('')).toBeUndefined();
  });
});
