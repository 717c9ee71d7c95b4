# The module with every option set, and what some options need created beside it: a customer
# managed KMS key (its key policy is the part that is easy to get wrong) and an alarm topic.
provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  tags    = { Team = "data-platform", CostCenter = "partner-data" }
}

# One key for the bucket, the parameters, the queue, the schedule, the job table and every log
# group. IAM policies grant it to the stack's roles (the root statement lets them); the services
# that use it on their own behalf need the key policy itself.
resource "aws_kms_key" "this" {
  description             = "partner-data: data, secrets, queue, job table and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = local.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersAndIamGrants"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # AWS's documented statement for encrypted log groups (the functions', the API's, the
        # state machine's): only for log groups of this account and region.
        Sid       = "CloudWatchLogsEncryptsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${local.account}:log-group:*"
          }
        }
      },
      {
        # CloudWatch alarms publish to the encrypted topic below.
        Sid       = "CloudWatchAlarmsPublishToTheTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

module "partner_data" {
  # From your own stack: source = "git::https://github.com/<owner>/<repo>.git//terraform?ref=<tag>"
  source = "../.."

  region               = var.region
  name_prefix          = var.name_prefix
  tags                 = local.tags
  dist_dir             = var.dist_dir
  lambda_architecture  = "arm64"
  kms_key_arn          = aws_kms_key.this.arn
  log_retention_days   = 731
  alarm_sns_topic_arns = [aws_sns_topic.alarms.arn]

  data_bucket_name                = null # <name_prefix>-<account>-<region>
  data_expiration_days            = 400
  data_bucket_deletion_protection = var.data_bucket_deletion_protection
  data_access_log_bucket          = var.data_access_log_bucket

  partner_api_url           = var.partner_api_url
  partner_api_token_enabled = true
  partner_api_token         = var.partner_api_token
  partner_api_token_version = 1
  partner_api_token_in      = "query"
  datasets                  = ["category", "establishment", "sale"]
  timezone                  = "America/Sao_Paulo"

  refresh_schedule_expression  = "cron(0 0 * * ? *)"
  refresh_schedule_enabled     = var.refresh_schedule_enabled
  refresh_memory_mb            = 1024
  refresh_ephemeral_storage_mb = 2048
  refresh_freshness_hours      = 24
  refresh_min_rows             = { sale = 100 }
  refresh_timeout_seconds      = 900
  refresh_reserved_concurrency = 1
  refresh_retry_attempts       = 2

  purge_password               = var.purge_password
  purge_password_version       = 1
  extra_purgeable_buckets      = var.extra_purgeable_buckets
  purge_path                   = "purge"
  purge_stage_name             = "v1"
  purge_throttling_rate_limit  = 5
  purge_throttling_burst_limit = 10
  purge_require_api_key        = true
  purge_allowed_source_cidrs   = var.purge_allowed_source_cidrs
  purge_memory_mb              = 1769
  purge_reserved_concurrency   = 2
  purge_job_max_concurrency    = 3
  purge_job_timeout_hours      = 24
  purge_job_retention_days     = 7

  manage_api_gateway_cloudwatch_role = true
}
