data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name     = var.name_prefix
  dist_dir = coalesce(var.dist_dir, "${path.module}/../dist")
  # null when the manifest is missing; the zip_path checks then say to run `make package`.
  package_architecture = try(jsondecode(file("${local.dist_dir}/manifest.json")).architecture, null)

  bucket_name       = coalesce(var.data_bucket_name, "${var.name_prefix}-${data.aws_caller_identity.current.account_id}-${var.region}")
  purgeable_buckets = distinct(concat([module.data_bucket.bucket_name], var.extra_purgeable_buckets))
  s3_arn            = "arn:${data.aws_partition.current.partition}:s3:::"

  # The refresh writes SSE-KMS objects (multipart uploads read their parts' keys back) and sends
  # failed runs to the encrypted queue; the purge only decrypts its SecureString.
  refresh_kms_statements = var.kms_key_arn == null ? [] : [{
    sid       = "UseTheProjectKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }]
  purge_kms_statements = var.kms_key_arn == null ? [] : [{
    sid       = "UseTheKeyForParameters"
    actions   = ["kms:Decrypt", "kms:Encrypt"]
    resources = [var.kms_key_arn]
  }]
  # Each running purge keeps its continuation's signing key here (purge_bucket/continuation.py).
  continuation_keys_path = "/${local.name}/purge-continuations"

  # The names are the handlers' configuration contract (refresh_partner_data/config.py).
  refresh_environment = {
    PARTNER_API_URL             = var.partner_api_url
    PARTNER_API_TOKEN_PARAMETER = var.partner_api_token_enabled ? module.partner_api_token[0].name : ""
    PARTNER_API_TOKEN_IN        = var.partner_api_token_in
    DATA_BUCKET                 = module.data_bucket.bucket_name
    DATASETS                    = join(",", var.datasets)
    TIMEZONE                    = var.timezone
  }

  # The names are the handlers' configuration contract (purge_bucket/config.py).
  purge_environment = {
    PASSWORD_PARAMETER        = module.purge_password.name
    ALLOWED_BUCKETS           = join(",", local.purgeable_buckets)
    CONTINUATION_KEYS_PATH    = local.continuation_keys_path
    CONTINUATION_KEYS_KMS_KEY = var.kms_key_arn == null ? "" : var.kms_key_arn
  }

  refresh_statements = concat(
    [{
      sid       = "WriteDailyExports"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = [for dataset in var.datasets : "${module.data_bucket.bucket_arn}/${dataset}/*"]
    }],
    var.partner_api_token_enabled ? [{
      sid       = "ReadPartnerApiToken"
      actions   = ["ssm:GetParameter"]
      resources = [module.partner_api_token[0].arn]
    }] : [],
    local.refresh_kms_statements,
  )

  purge_statements = concat(
    [
      {
        sid       = "ListWhatToPurge"
        actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
        resources = [for bucket in local.purgeable_buckets : "${local.s3_arn}${bucket}"]
      },
      {
        sid       = "DeleteEveryVersion"
        actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]
        resources = [for bucket in local.purgeable_buckets : "${local.s3_arn}${bucket}/*"]
      },
      {
        sid       = "ReadPurgePassword"
        actions   = ["ssm:GetParameter"]
        resources = [module.purge_password.arn]
      },
      {
        sid       = "KeepContinuationKeys"
        actions   = ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"]
        resources = ["arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${local.continuation_keys_path}/*"]
      },
    ],
    local.purge_kms_statements,
  )
}

module "data_bucket" {
  source = "./modules/data_bucket"

  bucket_name         = local.bucket_name
  expiration_days     = var.data_expiration_days
  access_log_bucket   = var.data_access_log_bucket
  kms_key_arn         = var.kms_key_arn
  deletion_protection = var.data_bucket_deletion_protection
}

module "purge_password" {
  source = "./modules/secure_parameter"

  name          = "/${local.name}/purge-password"
  description   = "Password the purge endpoint requires."
  value         = var.purge_password
  value_version = var.purge_password_version
  kms_key_arn   = var.kms_key_arn
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
}

# Every refresh run that did not happen: written by the scheduler when it cannot deliver a run,
# and by Lambda when a run still fails after its retries. Each message names the day.
resource "aws_sqs_queue" "refresh_failures" {
  name                      = "${local.name}-refresh-failures"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps.
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
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
  description                    = "Deletes every object version in an allowed bucket, behind the purge endpoint."
  region                         = var.region
  zip_path                       = "${local.dist_dir}/purge_bucket.zip"
  package_architecture           = local.package_architecture
  architecture                   = var.lambda_architecture
  memory_size                    = var.purge_memory_mb
  timeout                        = 900 # Background continuations use all of it; API calls stop at 24 s.
  reserved_concurrent_executions = var.purge_reserved_concurrency
  environment_variables          = local.purge_environment
  policy_statements              = local.purge_statements
  allow_self_invoke              = true # The 202 continuation.
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = var.kms_key_arn
  errors_alarm                   = { alarm_actions = var.alarm_sns_topic_arns }

  # Continuations expire after an hour (purge_bucket/continuation.py).
  async_invoke = {
    maximum_retry_attempts       = 1
    maximum_event_age_in_seconds = 3600
  }
}

# Opt-in: one setting per account and region, which every REST API there shares.
module "api_gateway_cloudwatch_role" {
  source = "./modules/api_gateway_cloudwatch_role"
  count  = var.manage_api_gateway_cloudwatch_role ? 1 : 0

  name   = "${local.name}-apigateway-logs"
  region = var.region
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

  # The stage's logging needs the account's role in place first, when this stack sets it.
  depends_on = [module.api_gateway_cloudwatch_role]
}
