/** @openedx-microcred/learner-dashboard-widget: see docs/learner-dashboard-widget.md in openedx-microcred. */
export { BadgeImage, MicrocredWidget, default, initials } from './MicrocredWidget';
export {
  WIDGET_PATH, MY_CREDENTIALS_PATH, WidgetError, widgetUrl, myCredentialsUrl,
  httpClientFetcher, browserFetcher, chooseFetcher,
} from './api';
export { defaultMessages } from './messages';

/** The learner dashboard's sidebar slot this widget is made for. */
export const SIDEBAR_SLOT_ID = 'org.openedx.frontend.learner_dashboard.widget_sidebar.v1';
