/**
 * The widget's dev page (`npm run dev`): the widget in the learner dashboard MFE's layout (the
 * course list beside a sidebar), with Paragon and the Open edX brand (the CSS the plugin's
 * Studio pages use, openedx_microcred/static/openedx_microcred/paragon/), fed the demo's JSON:
 * what GET /microcred/api/v1/me/dashboard-widget/ answers for the demo learners
 * (dev/demo-*.json, written by `make widget-demo-json`). `?learner=grace` picks another learner;
 * `?live=1` asks the LMS of `make demo` instead (through the dev server's proxy; sign in at
 * /login/ first).
 */
import { MicrocredWidget } from '../src';
import ada from './demo-ada.json';
import grace from './demo-grace.json';
import linus from './demo-linus.json';

export const DEMO = { ada, grace, linus };

export function demoFetcher(learner) {
  const data = DEMO[learner] || DEMO.ada;
  return async () => data;
}

export function DevPage({ learner = 'ada', live = false }) {
  const fetcher = live ? undefined : demoFetcher(learner);
  return (
    <div className="bg-light-200" style={{ minHeight: '100vh' }}>
      <header className="bg-white border-bottom px-4 py-3 mb-4">
        <strong>Learner dashboard</strong>
        <nav aria-label="Demo learners" className="d-inline ml-4">
          {Object.keys(DEMO).map((name) => (
            <a key={name} className="mr-3" style={{ textDecoration: 'underline' }} href={`?learner=${name}`}
              aria-current={name === learner ? 'page' : undefined}>
              {name}
            </a>
          ))}
        </nav>
      </header>
      <main className="container-fluid">
        <div className="row">
          <section className="col-12 col-lg-8 mb-4" aria-labelledby="courses-title">
            <h1 id="courses-title" className="h2">My courses</h1>
            <div className="pgn__card card p-3 mb-3"><p className="mb-0">Python Foundations</p></div>
            <div className="pgn__card card p-3 mb-3"><p className="mb-0">Data Analysis with Python</p></div>
          </section>
          <aside className="col-12 col-lg-4" aria-label="Sidebar">
            <MicrocredWidget fetcher={fetcher} lmsBaseUrl={live ? '' : undefined} />
          </aside>
        </div>
      </main>
    </div>
  );
}

export default DevPage;
