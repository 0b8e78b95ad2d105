// History: the timeline of recognition events (probe thumbnail, matched person), filtered by collection,
// camera, person, dialect, verdict and time range, paged by time (older pages follow the last event shown);
// charts per hour or day (known vs unknown) and per camera over the same filters.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, query, type Collection, type EventRow } from '../api';
import { CameraChart, TimeChart, type Series } from '../components/charts';
import { EventList } from '../components/events';
import { PersonPicker } from '../components/person-picker';
import { Alert, errorText, navigate, PageHeader, useLoad } from '../ui';

interface Facets {
  dialects: string[];
  verdicts: string[];
  cameras: { id: number; name: string }[];
}

interface Stats {
  buckets: { start: string; known: number; unknown: number }[];
  cameras: { cameraId: number | null; name: string | null; known: number; unknown: number }[];
}

const FILTERS = ['collection', 'camera', 'person', 'dialect', 'verdict', 'known', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** <input type="datetime-local"> speaks local time without a zone; the API wants an instant. */
const toIso = (local: string | undefined) => (local ? new Date(local).toISOString() : undefined);
const toLocalInput = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

export function HistoryPage(props: { params: URLSearchParams }) {
  const filters: Filters = Object.fromEntries(FILTERS.map((k) => [k, props.params.get(k) ?? undefined]).filter(([, v]) => v));
  const key = FILTERS.map((k) => filters[k] ?? '').join('|');
  const [draft, setDraft] = useState<Filters>(filters);
  useEffect(() => setDraft(filters), [key]);
  const collections = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  const facets = useLoad(() => get<Facets>('events/facets'), []);
  const personName = useLoad(() => (filters.person ? get<{ person: { name: string } }>(`persons/${filters.person}`).then((r) => r.person.name) : Promise.resolve('')), [filters.person]);
  const apiFilters = { ...filters, from: toIso(filters.from), to: toIso(filters.to) };

  // The timeline: pages of 50, each after the last event of the one before.
  const [events, setEvents] = useState<EventRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const load = async (before?: string) => {
    setLoading(true);
    try {
      const r = await get<{ events: EventRow[]; next: string | null }>(`events${query({ ...apiFilters, before, limit: 50 })}`);
      setEvents((old) => (before ? [...old, ...r.events] : r.events));
      setNext(r.next);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
  }, [key]);

  // Charts: per hour over up to 3 days, else per day; the range defaults to the last 7 days.
  const range = useMemo(() => {
    const to = apiFilters.to ? new Date(apiFilters.to) : new Date();
    const from = apiFilters.from ? new Date(apiFilters.from) : new Date(to.getTime() - 7 * 86_400_000);
    return { from, to, bucket: (to.getTime() - from.getTime() <= 3 * 86_400_000 ? 'hour' : 'day') as 'hour' | 'day' };
  }, [key]);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const stats = useLoad(
    () => get<Stats>(`events/stats${query({ ...apiFilters, from: range.from.toISOString(), to: range.to.toISOString(), bucket: range.bucket, tz })}`),
    [key],
  );
  const timeSeries: Series | undefined = useMemo(() => {
    if (!stats.data) return undefined;
    const fmt = new Intl.DateTimeFormat(undefined, range.bucket === 'hour' ? { day: 'numeric', month: 'short', hour: '2-digit' } : { day: 'numeric', month: 'short' });
    // Every bucket from the first to the last with events, empty ones too, so the time axis is even (a day
    // bucket is 23 or 25 hours at a daylight-saving change: matched within half a step).
    const buckets = stats.data.buckets.map((b) => ({ ...b, t: new Date(b.start).getTime() }));
    const step = range.bucket === 'hour' ? 3_600_000 : 86_400_000;
    const labels: string[] = [];
    const known: number[] = [];
    const unknown: number[] = [];
    if (buckets.length) {
      let i = 0;
      for (let t = buckets[0].t; t <= buckets[buckets.length - 1].t + step / 2 && labels.length < 5000; t += step) {
        const b = i < buckets.length && Math.abs(buckets[i].t - t) < step / 2 ? buckets[i++] : undefined;
        if (b) t = b.t;
        labels.push(fmt.format(new Date(t)));
        known.push(b?.known ?? 0);
        unknown.push(b?.unknown ?? 0);
      }
    }
    return { labels, known, unknown };
  }, [stats.data]);
  const cameraSeries: Series | undefined = stats.data && {
    labels: stats.data.cameras.map((c) => c.name ?? 'no camera'),
    known: stats.data.cameras.map((c) => c.known),
    unknown: stats.data.cameras.map((c) => c.unknown),
  };

  const apply = (e: Event) => {
    e.preventDefault();
    navigate('history', draft);
  };
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value || undefined });
  return (
    <>
      <PageHeader title="History" />
      <form class="filters card" onSubmit={apply} aria-label="Filters">
        <div class="field">
          <label for="history-collection">Collection</label>
          <select id="history-collection" name="collection" value={draft.collection ?? ''} onChange={set('collection')}>
            <option value="">any</option>
            {collections.data?.collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="history-camera">Camera</label>
          <select id="history-camera" name="camera" value={draft.camera ?? ''} onChange={set('camera')}>
            <option value="">any</option>
            {facets.data?.cameras.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="history-api">API</label>
          <select id="history-api" name="dialect" value={draft.dialect ?? ''} onChange={set('dialect')}>
            <option value="">any</option>
            {facets.data?.dialects.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="history-verdict">Verdict</label>
          <select id="history-verdict" name="verdict" value={draft.verdict ?? ''} onChange={set('verdict')}>
            <option value="">any</option>
            {facets.data?.verdicts.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="history-known-or-not">Known or not</label>
          <select id="history-known-or-not" name="known" value={draft.known ?? ''} onChange={set('known')}>
            <option value="">both</option>
            <option value="known">known persons</option>
            <option value="unknown">unknown faces</option>
          </select>
        </div>
        <div class="field">
          <label for="history-from">From</label>
          <input id="history-from" type="datetime-local" name="from" value={draft.from ?? ''} max={toLocalInput(new Date())} onInput={set('from')} />
        </div>
        <div class="field">
          <label for="history-until">Until</label>
          <input id="history-until" type="datetime-local" name="to" value={draft.to ?? ''} onInput={set('to')} />
        </div>
        {draft.person ? (
          <div class="field">
            <span class="label-like">Person</span>
            <span class="chip">
              {draft.person === filters.person ? (personName.data ?? `#${draft.person}`) : `#${draft.person}`}
              <button type="button" aria-label="Any person" onClick={() => setDraft({ ...draft, person: undefined })}>
                ×
              </button>
            </span>
          </div>
        ) : (
          <PersonPicker id="history-person" label="Person" onPick={(p) => setDraft({ ...draft, person: String(p.id) })} />
        )}
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button type="button" onClick={() => navigate('history')}>
            Clear
          </button>
        </div>
      </form>
      {stats.error && <Alert>{stats.error}</Alert>}
      <div class="charts">
        {timeSeries && <TimeChart series={timeSeries} bucket={range.bucket} />}
        {cameraSeries && <CameraChart series={cameraSeries} />}
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Events</h2>
        {error && <Alert>{error}</Alert>}
        {!loading && !events.length && <p class="empty">No recognition event matches.</p>}
        <EventList events={events} />
        <div class="pager">
          {next && (
            <button type="button" onClick={() => load(next)} disabled={loading}>
              Older events
            </button>
          )}
          {loading && <span aria-live="polite">Loading…</span>}
        </div>
      </section>
    </>
  );
}
