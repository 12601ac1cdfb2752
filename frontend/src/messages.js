/**
 * The widget's words, in English. Pass `messages` to the widget to translate some or all of them
 * (for instance from frontend-platform's intl); texts that come from the LMS (requirement
 * descriptions) are already in the learner's language.
 */
export const defaultMessages = {
  title: 'My credentials',
  loading: 'Loading your credentials…',
  error: 'Your credentials could not be loaded.',
  retry: 'Try again',
  empty: 'No credentials yet. Badges appear here as you complete courses.',
  badgesEarned: (count) => (count === 1 ? '1 badge earned' : `${count} badges earned`),
  moreBadges: (count) => (count === 1 ? '1 more badge' : `${count} more badges`),
  inProgress: 'In progress',
  percent: (value) => `${value} %`,
  next: 'Next:',
  viewAll: 'View all my credentials',
};
