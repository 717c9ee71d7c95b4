data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name = var.name_prefix
  # The CloudWatch namespace of the functions' EMF metrics: one per stack.
  metrics_namespace = var.name_prefix
  # On every resource that takes tags: the caller's provider may have no default_tags.
  tags     = merge({ Project = "partner-data-pipeline", ManagedBy = "terraform" }, var.tags)
  dist_dir = coalesce(var.dist_dir, "${path.module}/../dist")
  # null when the manifest is missing; the zip_path checks then say to run `make package`.
  package_architecture = try(jsondecode(file("${local.dist_dir}/manifest.json")).architecture, null)

  bucket_name       = coalesce(var.data_bucket_name, "${var.name_prefix}-${data.aws_caller_identity.current.account_id}-${var.region}")
  purgeable_buckets = distinct(concat([module.data_bucket.bucket_name], var.extra_purgeable_buckets))
  s3_arn            = "arn:${data.aws_partition.current.partition}:s3:::"

  # The refresh writes SSE-KMS objects (multipart uploads read their parts' keys back) and sends
  # failed runs to the encrypted queue; the purge decrypts its SecureString, and both the purge and
  # its worker read and write the job table (what AWS's key policy for DynamoDB grants through it).
  refresh_kms_statements = var.kms_key_arn == null ? [] : [{
    sid       = "UseTheProjectKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }]
  purge_kms_statements = var.kms_key_arn == null ? [] : [{
    sid       = "UseTheKeyForParametersAndJobs"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }]
  worker_kms_statements = var.kms_key_arn == null ? [] : [{
    sid       = "UseTheKeyForJobs"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }]

  # The names are the handlers' configuration contract (refresh_partner_data/config.py).
  refresh_environment = {
    PARTNER_API_URL             = var.partner_api_url
    PARTNER_API_TOKEN_PARAMETER = var.partner_api_token_enabled ? module.partner_api_token[0].name : ""
    PARTNER_API_TOKEN_IN        = var.partner_api_token_in
    DATA_BUCKET                 = module.data_bucket.bucket_name
    DATASETS                    = join(",", var.datasets)
    TIMEZONE                    = var.timezone
    # The same defaults as config.py's max_field_bytes_for and max_body_bytes_for.
    MAX_FIELD_BYTES   = tostring(coalesce(var.refresh_max_field_bytes, floor(var.refresh_memory_mb * 1048576 / 48)))
    MAX_BODY_BYTES    = tostring(coalesce(var.refresh_max_body_bytes, floor(var.refresh_ephemeral_storage_mb * 1048576 / 2)))
    METRICS_NAMESPACE = local.metrics_namespace
  }

  # The names are the handlers' configuration contract (purge_bucket/config.py).
  purge_environment = {
    PASSWORD_PARAMETER    = module.purge_password.name
    ALLOWED_BUCKETS       = join(",", local.purgeable_buckets)
    JOBS_TABLE            = module.purge_job.table_name
    JOB_STATE_MACHINE_ARN = module.purge_job.state_machine_arn
    JOB_RETENTION_DAYS    = tostring(var.purge_job_retention_days)
    METRICS_NAMESPACE     = local.metrics_namespace
  }
  purge_worker_environment = {
    ALLOWED_BUCKETS    = join(",", local.purgeable_buckets)
    JOBS_TABLE         = module.purge_job.table_name
    JOB_RETENTION_DAYS = tostring(var.purge_job_retention_days)
    METRICS_NAMESPACE  = local.metrics_namespace
  }

  # Listing and deleting in every purgeable bucket: the purge function's inline runs and the worker's.
  purge_s3_statements = [
    {
      sid       = "ListWhatToPurge"
      actions   = ["s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
      resources = [for bucket in local.purgeable_buckets : "${local.s3_arn}${bucket}"]
    },
    {
      sid       = "DeleteEveryVersion"
      actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]
      resources = [for bucket in local.purgeable_buckets : "${local.s3_arn}${bucket}/*"]
    },
  ]

  # The daily files: each dataset's folder of the data bucket.
  export_object_arns = [for dataset in var.datasets : "${module.data_bucket.bucket_arn}/${dataset}/*"]

  refresh_statements = concat(
    [{
      sid       = "WriteDailyExports"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = local.export_object_arns
      }, {
      sid       = "SkipExportsARetryAlreadyWrote" # HeadObject of a day's file: its metadata names the invocation.
      actions   = ["s3:GetObject"]
      resources = local.export_object_arns
    }],
    var.partner_api_token_enabled ? [{
      sid       = "ReadPartnerApiToken"
      actions   = ["ssm:GetParameter"]
      resources = [module.partner_api_token[0].arn]
    }] : [],
    local.refresh_kms_statements,
  )

  purge_statements = concat(
    [{
      sid       = "CheckTheBucket" # HeadBucket, before a purge starts.
      actions   = ["s3:ListBucket"]
      resources = [for bucket in local.purgeable_buckets : "${local.s3_arn}${bucket}"]
    }],
    local.purge_s3_statements,
    [
      {
        sid       = "ReadPurgePassword"
        actions   = ["ssm:GetParameter"]
        resources = [module.purge_password.arn]
      },
      {
        sid       = "ClaimBucketsAndRecordPurges"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = [module.purge_job.table_arn]
      },
      {
        sid       = "StartPurgeJobs"
        actions   = ["states:StartExecution"]
        resources = [module.purge_job.state_machine_arn]
      },
      {
        sid       = "ReadPurgeJobs"
        actions   = ["states:DescribeExecution"]
        resources = ["${replace(module.purge_job.state_machine_arn, ":stateMachine:", ":execution:")}:*"]
      },
    ],
    local.purge_kms_statements,
  )

  purge_worker_statements = concat(
    local.purge_s3_statements,
    [{
      sid       = "RecordJobRuns"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [module.purge_job.table_arn]
    }],
    local.worker_kms_statements,
  )
}

module "data_bucket" {
  source = "./modules/data_bucket"

  bucket_name         = local.bucket_name
  expiration_days     = var.data_expiration_days
  access_log_bucket   = var.data_access_log_bucket
  kms_key_arn         = var.kms_key_arn
  deletion_protection = var.data_bucket_deletion_protection
  # The guard's message names the variable the caller of this module sets.
  deletion_protection_setting = "data_bucket_deletion_protection"
  tags                        = local.tags
}

module "purge_password" {
  source = "./modules/secure_parameter"

  name          = "/${local.name}/purge-password"
  description   = "Password the purge endpoint requires."
  value         = var.purge_password
  value_version = var.purge_password_version
  kms_key_arn   = var.kms_key_arn
  tags          = local.tags
}

module "partner_api_token" {
  source = "./modules/secure_parameter"
  count  = var.partner_api_token_enabled ? 1 : 0

  name          = "/${local.name}/partner-api-token"
  description   = "Token the refresh function sends to the partner API (x-functions-key, or code)."
  value         = var.partner_api_token
  value_version = var.partner_api_token_version
  min_length    = 8
  kms_key_arn   = var.kms_key_arn
  tags          = local.tags
}

# Every refresh run that did not happen: written by the scheduler when it cannot deliver a run,
# and by Lambda when a run still fails after its retries. Each message names the day.
resource "aws_sqs_queue" "refresh_failures" {
  name                      = "${local.name}-refresh-failures"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps.
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = local.tags
}

module "refresh_function" {
  source = "./modules/lambda_function"

  name                           = "${local.name}-refresh"
  description                    = "Writes yesterday's partner datasets to S3 as CSV."
  region                         = var.region
  zip_path                       = "${local.dist_dir}/refresh_partner_data.zip"
  package_architecture           = local.package_architecture
  architecture                   = var.lambda_architecture
  memory_size                    = var.refresh_memory_mb
  timeout                        = var.refresh_timeout_seconds
  ephemeral_storage_mb           = var.refresh_ephemeral_storage_mb
  reserved_concurrent_executions = var.refresh_reserved_concurrency
  environment_variables          = local.refresh_environment
  policy_statements              = local.refresh_statements
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = var.kms_key_arn
  errors_alarm                   = { alarm_actions = var.alarm_sns_topic_arns }
  tags                           = local.tags

  async_invoke = {
    maximum_retry_attempts       = var.refresh_retry_attempts
    maximum_event_age_in_seconds = 21600
    on_failure_destination_arn   = aws_sqs_queue.refresh_failures.arn
  }
}

module "refresh_schedule" {
  source = "./modules/lambda_schedule"

  name         = "${local.name}-daily-refresh"
  region       = var.region
  function_arn = module.refresh_function.function_arn
  tags         = local.tags
  # The function refreshes the day before this time: a late or replayed run still gets its own day.
  # A literal, not jsonencode(): that escapes "<" and ">" as \u003c and \u003e, and the scheduler
  # would then send the placeholder unfilled.
  input                 = "{\"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}"
  schedule_expression   = var.refresh_schedule_expression
  schedule_timezone     = var.timezone
  enabled               = var.refresh_schedule_enabled
  dead_letter_queue_arn = aws_sqs_queue.refresh_failures.arn
  kms_key_arn           = var.kms_key_arn
}

module "purge_function" {
  source = "./modules/lambda_function"

  name                           = "${local.name}-purge"
  description                    = "Behind the purge endpoint: checks the password, purges an allowed bucket inline, hands the rest to a purge job."
  region                         = var.region
  zip_path                       = "${local.dist_dir}/purge_bucket.zip"
  package_architecture           = local.package_architecture
  architecture                   = var.lambda_architecture
  memory_size                    = var.purge_memory_mb
  timeout                        = 60 # Answers within 27 s through API Gateway, 50 s when invoked directly.
  reserved_concurrent_executions = var.purge_reserved_concurrency
  environment_variables          = local.purge_environment
  policy_statements              = local.purge_statements
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = var.kms_key_arn
  errors_alarm                   = { alarm_actions = var.alarm_sns_topic_arns }
  tags                           = local.tags

  # An asynchronous invocation's caller cannot read the answer: no retry starts a second purge.
  async_invoke = {
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

# The purge job's worker: the same zip, another handler, a role without the password or Step Functions.
module "purge_worker" {
  source = "./modules/lambda_function"

  name                  = "${local.name}-purge-worker"
  description           = "Runs the purge jobs' tasks: plans a job's lanes and purges one lane per invocation."
  region                = var.region
  zip_path              = "${local.dist_dir}/purge_bucket.zip"
  handler               = "purge_bucket.worker.lambda_handler"
  package_architecture  = local.package_architecture
  architecture          = var.lambda_architecture
  memory_size           = var.purge_memory_mb
  timeout               = 900 # A run deletes for 14 minutes at most, then counts its work.
  environment_variables = local.purge_worker_environment
  policy_statements     = local.purge_worker_statements
  log_retention_days    = var.log_retention_days
  kms_key_arn           = var.kms_key_arn
  errors_alarm          = { alarm_actions = var.alarm_sns_topic_arns }
  tags                  = local.tags
}

module "purge_job" {
  source = "./modules/purge_job"

  name                = "${local.name}-purge-job"
  region              = var.region
  worker_function_arn = module.purge_worker.function_arn
  max_concurrency     = var.purge_job_max_concurrency
  timeout_hours       = var.purge_job_timeout_hours
  log_retention_days  = var.log_retention_days
  kms_key_arn         = var.kms_key_arn
  alarm_actions       = var.alarm_sns_topic_arns
  tags                = local.tags
}

module "monitoring" {
  source = "./modules/monitoring"

  name                    = local.name
  region                  = var.region
  metrics_namespace       = local.metrics_namespace
  datasets                = var.datasets
  refresh_function_name   = module.refresh_function.function_name
  failure_queue_name      = aws_sqs_queue.refresh_failures.name
  schedule_group_name     = module.refresh_schedule.group_name
  purge_state_machine_arn = module.purge_job.state_machine_arn
  alarm_arns = concat(
    compact([module.refresh_function.errors_alarm_arn, module.purge_function.errors_alarm_arn, module.purge_worker.errors_alarm_arn]),
    module.purge_job.alarm_arns,
  )
  freshness_hours = var.refresh_freshness_hours
  min_rows        = var.refresh_min_rows
  alarm_actions   = var.alarm_sns_topic_arns
  tags            = local.tags
}

# Opt-in: one setting per account and region, which every REST API there shares.
module "api_gateway_cloudwatch_role" {
  source = "./modules/api_gateway_cloudwatch_role"
  count  = var.manage_api_gateway_cloudwatch_role ? 1 : 0

  name   = "${local.name}-apigateway-logs"
  region = var.region
  tags   = local.tags
}

module "purge_api" {
  source = "./modules/purge_api"

  name                   = "${local.name}-purge"
  function_name          = module.purge_function.function_name
  function_invoke_arn    = module.purge_function.invoke_arn
  path_part              = var.purge_path
  stage_name             = var.purge_stage_name
  throttling_rate_limit  = var.purge_throttling_rate_limit
  throttling_burst_limit = var.purge_throttling_burst_limit
  require_api_key        = var.purge_require_api_key
  allowed_source_cidrs   = var.purge_allowed_source_cidrs
  log_retention_days     = var.log_retention_days
  kms_key_arn            = var.kms_key_arn

  tags = local.tags
  # The stage's logging needs the account's role in place first, when this stack sets it.
  depends_on = [module.api_gateway_cloudwatch_role]
}

locals {
  # The purge API's OpenAPI document, made this stack's: its stage as the server, its path, its API
  # key required or not. Null where the module was copied without the repository's docs/.
  purge_api_document_file = "${path.module}/../docs/partner-api/openapi.yaml"
  purge_api_document_source = (
    fileexists(local.purge_api_document_file) ? yamldecode(file(local.purge_api_document_file)) : null
  )
  purge_api_document = local.purge_api_document_source == null ? null : merge(local.purge_api_document_source, {
    servers = [{ url = module.purge_api.stage_url, description = "The stack's stage." }]
    paths = {
      for path, item in local.purge_api_document_source.paths :
      "/${var.purge_path}${trimprefix(path, "/purge")}" => item
    }
    security = var.purge_require_api_key ? [{ api_key = [] }] : [{}]
  })
}
