-- trailgraph, beyond one machine: the Athena (Glue catalog) tables over a partitioned case and
-- its identity map, for scale/sql/dedup_attribute.sql and the detectors. Replace the
-- s3://BUCKET/CASE/ and s3://BUCKET/MAP/ prefixes; run each statement on its own (Athena runs
-- one statement per query). Columns are matched by name (Parquet), so their order does not
-- matter. README "Beyond one machine" has the whole procedure.
--
-- The events: CASE/events/account=<A>/region=<R>/date=<YYYY-MM-DD>/part-<RUN>-<SEQ>.parquet.
-- Athena reads every file under the prefix: it cannot read the manifests, so a file of an
-- unfinished ingest run (one no manifests/<RUN>.json names) must be removed first, or the run
-- finished (ingest again); trailgraph and the drivers ignore such files.
CREATE EXTERNAL TABLE events (
  event_id string,
  event_time timestamp,
  event_name string,
  event_source string,
  event_type string,
  event_category string,
  event_version string,
  aws_region string,
  recipient_account string,
  source_ip string,
  user_agent string,
  error_code string,
  error_message string,
  read_only boolean,
  management_event boolean,
  request_id string,
  shared_event_id string,
  identity_type string,
  identity_arn string,
  principal_id string,
  identity_account string,
  access_key_id string,
  user_name string,
  invoked_by string,
  issuer_type string,
  issuer_arn string,
  issuer_account string,
  issuer_principal_id string,
  creation_date timestamp,
  mfa_authenticated boolean,
  source_identity string,
  on_behalf_of_user_id string,
  on_behalf_of_store_arn string,
  identity_provider string,
  credential_id string,
  web_id_provider string,
  ec2_role_delivery string,
  assumed_root boolean,
  session_credential_from_console boolean,
  in_scope_of_issued_to string,
  switch_from string,
  console_login_result string,
  console_mfa_used string,
  sso_account_id string,
  sso_role_name string,
  request_access_key_id string,
  request_key_status string,
  request_user_name string,
  request_parameters string,
  response_elements string,
  additional_event_data string,
  service_event_details string,
  resources string,
  identity_sig string,
  source_file string,
  record_index bigint
)
PARTITIONED BY (account string, region string, `date` string)
STORED AS PARQUET
LOCATION 's3://BUCKET/CASE/events/';

-- The partitions (Hive-style directories; run again after each ingest run).
MSCK REPAIR TABLE events;

-- The identity map (trailgraph resolve CASE -o MAP). A table is a prefix, so each of the map's
-- two files goes under its own prefix: MAP/identities/identities.parquet and
-- MAP/events/events.parquet (e.g. aws s3 cp MAP/identities.parquet s3://BUCKET/MAP/identities/).
CREATE EXTERNAL TABLE identities (
  identity_sig string,
  valid_from timestamp,
  valid_to timestamp,
  session_id string,
  origin string,
  chain string,
  depth bigint,
  confidence string,
  source_identity string
)
STORED AS PARQUET
LOCATION 's3://BUCKET/MAP/identities/';

CREATE EXTERNAL TABLE event_map (
  recipient_account string,
  event_id string,
  session_id string,
  origin string,
  chain string,
  depth bigint,
  confidence string,
  source_identity string
)
STORED AS PARQUET
LOCATION 's3://BUCKET/MAP/events/';

-- The attributed events, partitioned like the events: paste dedup_attribute.sql after AS.
-- (Athena's CTAS and INSERT INTO write at most 100 partitions per query: for more, create the
-- table from one day, then INSERT INTO it the rest a few days at a time, adding
-- WHERE e.event_time >= TIMESTAMP '…' AND e.event_time < TIMESTAMP '…' to its first CTE.)
-- CREATE TABLE attributed
-- WITH (format = 'PARQUET', external_location = 's3://BUCKET/ATTRIBUTED/',
--       partitioned_by = ARRAY['account', 'region', 'date'])
-- AS <dedup_attribute.sql>;
