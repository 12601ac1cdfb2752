# openedx-microcred (tutor-microcred): the issuer's signing key. Safe to run again: migrating twice
# changes nothing, and a key is only created when there is none.
if ! python -c "import openedx_microcred" 2>/dev/null; then
  echo "openedx-microcred is not installed in the openedx image: run 'tutor images build openedx' first" >&2
  exit 1
fi
# The LMS settings must hold the key-encryption key saved in config.yml: a key encrypted under any
# other one (an environment rendered before 'tutor config save') could not be decrypted later.
./manage.py lms shell -c "
import hashlib, sys
from django.conf import settings
keys = getattr(settings, 'MICROCRED_KEY_ENCRYPTION_KEYS', None) or ['']
if hashlib.sha256(keys[0].encode()).hexdigest()[:16] != '{{ MICROCRED_KEY_ENCRYPTION_KEY|microcred_fingerprint }}':
    sys.exit('The LMS settings do not hold the MICROCRED_KEY_ENCRYPTION_KEY of config.yml: run tutor config save, then this again.')
"
./manage.py lms migrate openedx_microcred --no-input
{% if MICROCRED_SIGNING_KEY -%}
echo "MICROCRED_SIGNING_KEY is set: the signing key comes from the settings, none is stored"
{%- else -%}
./manage.py lms microcred_keys generate --if-missing
{%- endif %}
