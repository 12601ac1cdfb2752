import { createRoot } from 'react-dom/client';

import '../../openedx_microcred/static/openedx_microcred/paragon/paragon-core.min.css';
import '../../openedx_microcred/static/openedx_microcred/paragon/paragon-light.min.css';
import '../../openedx_microcred/static/openedx_microcred/paragon/brand-core.min.css';
import '../../openedx_microcred/static/openedx_microcred/paragon/brand-light.min.css';
import { DevPage } from './DevPage';

const params = new URLSearchParams(window.location.search);
createRoot(document.getElementById('root')).render(
  <DevPage learner={params.get('learner') || 'ada'} live={params.get('live') === '1'} />,
);
