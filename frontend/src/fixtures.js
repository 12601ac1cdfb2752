/** A response of GET /microcred/api/v1/me/dashboard-widget/, as the LMS sends it (abridged). */
const LMS = 'https://lms.example.org';

function requirement(fields) {
  return {
    path: 'criteria', kind: 'course_grade', text: '', fraction: 0, percent: 0, course_key: null,
    course_name: null, course_url: null, credential_slug: null, credential_title: null, min_percent: null,
    mode: null, ...fields,
  };
}

function status(fields) {
  return {
    credential_slug: '', title: '', description: '', image_url: null, earned: false, fraction: 0, percent: 0,
    is_stack: false, stack_kind: '', award_uuid: null, next_steps: [], levels: [], children: [], ...fields,
  };
}

export const dashboard = {
  user_id: 2,
  username: 'ada',
  badges_count: 2,
  badges: [
    {
      uuid: '0b6a3c1e-0000-4000-8000-000000000001', credential_slug: 'python-foundations',
      title: 'Python Foundations', image_url: `${LMS}/microcred/badges/5f0c-foundations/badge.png`, issued_at: '2026-09-08T14:02:00Z', expires_at: null,
      public_url: `${LMS}/microcred/credentials/0b6a3c1e-0000-4000-8000-000000000001/`,
      json_url: `${LMS}/microcred/credentials/0b6a3c1e-0000-4000-8000-000000000001.json?download=1`,
      linkedin_url: 'https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME', platform_links: [],
    },
    {
      uuid: '0b6a3c1e-0000-4000-8000-000000000002', credential_slug: 'python-bronze',
      title: 'Python Programmer — Bronze', image_url: null, issued_at: '2026-09-08T14:02:00Z', expires_at: null,
      public_url: `${LMS}/microcred/credentials/0b6a3c1e-0000-4000-8000-000000000002/`,
      json_url: `${LMS}/microcred/credentials/0b6a3c1e-0000-4000-8000-000000000002.json?download=1`,
      linkedin_url: 'https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME', platform_links: [],
    },
  ],
  progress: [
    status({
      credential_slug: 'full-stack-starter', title: 'Full-Stack Starter', fraction: 0.5, percent: 50,
      is_stack: true, stack_kind: 'horizontal',
      next_steps: [{
        text: 'One more of:', needed: 1, requirement: null,
        options: [
          { text: 'Earn Web Foundations', needed: 1, options: [], requirement: requirement({
            path: 'criteria.of[1]', kind: 'credential', text: 'Earn Web Foundations', credential_slug: 'web-foundations',
            credential_title: 'Web Foundations', course_key: 'course-v1:DemoX+WEB101+2026', course_name: 'Web Foundations',
            course_url: `${LMS}/courses/course-v1:DemoX+WEB101+2026/` }) },
          { text: 'Earn Data Analysis with Python', needed: 1, options: [], requirement: requirement({
            path: 'criteria.of[2]', kind: 'credential', text: 'Earn Data Analysis with Python',
            credential_slug: 'data-analysis', credential_title: 'Data Analysis with Python' }) },
        ],
      }],
    }),
    status({
      credential_slug: 'python-silver', title: 'Python Programmer — Silver', fraction: 0.4, percent: 40,
      is_stack: true, stack_kind: 'vertical',
      next_steps: [{
        text: 'Earn Data Analysis with Python', needed: 1, options: [], requirement: requirement({
          path: 'criteria.of[1]', kind: 'credential', text: 'Earn Data Analysis with Python',
          credential_slug: 'data-analysis', credential_title: 'Data Analysis with Python' }),
      }],
    }),
    status({
      credential_slug: 'python-gold', title: 'Python Programmer — Gold', fraction: 0.2, percent: 20, is_stack: true,
      image_url: `${LMS}/microcred/badges/5f0c-gold/badge.svg`,
    }),
    status({
      credential_slug: 'data-analysis', title: 'Data Analysis with Python', fraction: 0.8, percent: 80,
      next_steps: [{
        text: 'Reach a grade of at least 70 % in Data Analysis with Python', needed: 1, options: [],
        requirement: requirement({
          text: 'Reach a grade of at least 70 % in Data Analysis with Python', fraction: 0.8, percent: 80,
          course_key: 'course-v1:DemoX+PY201+2026', course_name: 'Data Analysis with Python',
          course_url: `${LMS}/courses/course-v1:DemoX+PY201+2026/`, min_percent: 70,
        }),
      }],
    }),
    status({ credential_slug: 'python-foundations', title: 'Python Foundations', earned: true, fraction: 1, percent: 100 }),
  ],
  my_credentials_url: `${LMS}/microcred/my/`,
};

export const empty = {
  user_id: 3, username: 'grace', badges_count: 0, badges: [], progress: [],
  my_credentials_url: `${LMS}/microcred/my/`,
};
