# --- Where and what -------------------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy to, e.g. sa-east-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\\d$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, roles, API, schedule, parameters)."
  type        = string
  default     = "partner-data"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them, over the module's own Project and ManagedBy (a caller's provider default_tags are added by the provider)."
  type        = map(string)
  default     = {}
}

variable "dist_dir" {
  description = "Folder holding the zips and manifest.json from `make package`; null means ../dist next to this folder."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Architecture of both functions: arm64 or x86_64. Build with the same (`make package ARCH=...`)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the bucket, parameters, queue, schedule, job table and logs; null uses AWS managed keys. Its key policy must allow CloudWatch Logs."
  type        = string
  default     = null

  validation {
    # A key's ARN: IAM applies a grant on an alias ARN to the alias, not to the key behind it, so
    # the functions' uploads and secret reads would be denied at run time.
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key's ARN (arn:aws:kms:<region>:<account>:key/<key id>), not an alias's: IAM grants on an alias ARN do not reach the key."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the functions' and the API's logs."
  type        = number
  default     = 365
}

variable "alarm_sns_topic_arns" {
  description = "SNS topics notified when a function reports errors or a purge job fails (empty: the alarms exist without notifications)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_sns_topic_arns : can(regex("^arn:aws[a-z-]*:sns:", arn))])
    error_message = "alarm_sns_topic_arns must hold SNS topic ARNs."
  }
}

# --- The data bucket ------------------------------------------------------------------------------

variable "data_bucket_name" {
  description = "Name of the partner data bucket; null means <name_prefix>-<account id>-<region>."
  type        = string
  default     = null
}

variable "data_expiration_days" {
  description = "Delete partner data this many days after it is written, whatever the purge endpoint does; null keeps it."
  type        = number
  default     = null
}

variable "data_bucket_deletion_protection" {
  description = "Refuse `terraform destroy` of the data bucket, leaving it and its settings untouched (the rest of the stack is destroyed). Set false and apply before a destroy that should delete the bucket with all its data."
  type        = bool
  default     = true
}

variable "data_access_log_bucket" {
  description = "Another bucket that receives the data bucket's server access logs (it must allow the S3 logging service); null for none."
  type        = string
  default     = null

  validation {
    condition = alltrue([for name in compact([var.data_access_log_bucket]) : (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name)) &&
      !strcontains(name, "..") &&
      !can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", name)) &&
      !anytrue([for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(name, prefix)]) &&
      !anytrue([for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(name, suffix)])
    )])
    error_message = "data_access_log_bucket must be an S3 general purpose bucket name."
  }
}

# --- The daily refresh ----------------------------------------------------------------------------

variable "partner_api_url" {
  description = "The partner API endpoint, e.g. https://<host>/api/InteliFunctionGetData (no table, saleDate or code in it)."
  type        = string

  validation {
    # Plain http only to loopback: the local partner API simulator (scripts/demo.py).
    condition = (
      can(regex("^https://[^/?#@\\s]+(/[^?#\\s]*)?$", var.partner_api_url)) ||
      can(regex("^http://(127[.]0[.]0[.]1|localhost)(:[0-9]{1,5})?(/[^?#\\s]*)?$", var.partner_api_url))
    )
    error_message = "partner_api_url must be an https:// URL without a query string or credentials (plain http only to 127.0.0.1 or localhost)."
  }
}

variable "partner_api_token_enabled" {
  description = "Whether the partner API needs a token. When true, partner_api_token must be given on every plan/apply."
  type        = bool
  default     = true
}

variable "partner_api_token" {
  description = "The partner API token. Ephemeral and write-only: stored in SSM, never in Terraform state or plans. Pass it as TF_VAR_partner_api_token."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = !var.partner_api_token_enabled || try(length(var.partner_api_token) >= 8, false)
    error_message = "partner_api_token is required (at least 8 characters) while partner_api_token_enabled is true: export TF_VAR_partner_api_token."
  }
}

variable "partner_api_token_in" {
  description = "Where the refresh function sends the token: header (x-functions-key, which Azure Functions accepts; it is in no URL a library might log) or query (the code parameter, for a partner behind a proxy that passes only the query)."
  type        = string
  default     = "header"

  validation {
    condition     = contains(["header", "query"], var.partner_api_token_in)
    error_message = "partner_api_token_in must be header or query."
  }
}

variable "partner_api_token_version" {
  description = "Increase to write a new partner_api_token to SSM (rotation); 1 to 999. Adding or changing kms_key_arn writes it again by itself."
  type        = number
  default     = 1

  validation {
    condition     = var.partner_api_token_version >= 1 && var.partner_api_token_version <= 999 && floor(var.partner_api_token_version) == var.partner_api_token_version
    error_message = "partner_api_token_version must be a whole number from 1 to 999."
  }
}

variable "datasets" {
  description = "Partner datasets refreshed every day."
  type        = list(string)
  default     = ["category", "establishment", "sale"]

  validation {
    condition     = length(var.datasets) > 0 && alltrue([for d in var.datasets : can(regex("^[A-Za-z][A-Za-z0-9_-]{0,63}$", d))]) && length(distinct(var.datasets)) == length(var.datasets)
    error_message = "datasets must be distinct names of letters, digits, '_' and '-'."
  }
}

variable "timezone" {
  description = "IANA time zone of the schedule and of \"yesterday\" in the refresh function. A scheduled time that a daylight-saving change skips does not run: midnight in a zone whose DST starts at 00:00 misses that day's refresh (backfill it by hand)."
  type        = string
  default     = "America/Sao_Paulo"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$", var.timezone))
    error_message = "timezone must be an IANA time zone name such as America/Sao_Paulo or UTC."
  }
}

variable "refresh_schedule_expression" {
  description = "When the refresh runs, in `timezone`: daily at midnight by default."
  type        = string
  default     = "cron(0 0 * * ? *)"
}

variable "refresh_schedule_enabled" {
  description = "Whether the daily schedule runs."
  type        = bool
  default     = true
}

variable "refresh_memory_mb" {
  description = "Memory of the refresh function, in MB. Peak use is about 55 MB plus 50 MB per export running (its upload holds at most 5 parts of 8 MiB, whatever the file size); three run at once."
  type        = number
  default     = 512
}

variable "refresh_ephemeral_storage_mb" {
  description = "/tmp of the refresh function, in MB (512-10240). It holds one spool of rows per export running (3 at a time), each about the size of that day's CSV: size it at 3 x the largest day's CSV + 100 MB. The default fits days of up to about 130 MB of CSV."
  type        = number
  default     = 512

  validation {
    condition     = var.refresh_ephemeral_storage_mb >= 512 && var.refresh_ephemeral_storage_mb <= 10240 && floor(var.refresh_ephemeral_storage_mb) == var.refresh_ephemeral_storage_mb
    error_message = "refresh_ephemeral_storage_mb must be a whole number between 512 and 10240."
  }
}

variable "refresh_max_field_bytes" {
  description = "The longest value (a string, or text between two quotes) the refresh accepts from the partner; a longer one fails its export with a clear error instead of the process running out of memory (parsing a string peaks at about 7 times its size). Null: refresh_memory_mb / 48 (about 10.7 MB at 512 MB)."
  type        = number
  default     = null

  validation {
    condition     = var.refresh_max_field_bytes == null || try(var.refresh_max_field_bytes >= 1048576 && floor(var.refresh_max_field_bytes) == var.refresh_max_field_bytes, false)
    error_message = "refresh_max_field_bytes must be a whole number of bytes, at least 1048576."
  }
}

variable "refresh_max_body_bytes" {
  description = "The largest answer (decompressed) the refresh accepts for one dataset and day; a larger one fails its export with a clear error before /tmp fills. Null: refresh_ephemeral_storage_mb / 2 (256 MiB at 512 MB)."
  type        = number
  default     = null

  validation {
    condition     = var.refresh_max_body_bytes == null || try(var.refresh_max_body_bytes >= 1048576 && floor(var.refresh_max_body_bytes) == var.refresh_max_body_bytes, false)
    error_message = "refresh_max_body_bytes must be a whole number of bytes, at least 1048576."
  }
}

variable "refresh_freshness_hours" {
  description = "Hours without a successful export of a dataset before its freshness alarm fires (1-24: CloudWatch evaluates at most a day; missing data counts as none). With the daily schedule, 24 means: the day's run has not written by the hour after the one the previous day's run wrote in."
  type        = number
  default     = 24
}

variable "refresh_min_rows" {
  description = "Per dataset, the fewest rows one export may write before its volume alarm fires (read the usual level off the dashboard's rows per day; a tenth of it is a start). A dataset not in the map has no volume alarm."
  type        = map(number)
  default     = {}
}

variable "refresh_timeout_seconds" {
  description = "Timeout of the refresh function."
  type        = number
  default     = 900
}

variable "refresh_reserved_concurrency" {
  description = "Reserved concurrency of the refresh function; 1 guarantees two runs never overlap. null reserves none: reserving fails in accounts whose concurrency limit is below 100 + the reservation (new accounts start at 10)."
  type        = number
  default     = null

  validation {
    condition     = var.refresh_reserved_concurrency == null || try(var.refresh_reserved_concurrency >= 1 && floor(var.refresh_reserved_concurrency) == var.refresh_reserved_concurrency, false)
    error_message = "refresh_reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "refresh_retry_attempts" {
  description = "Times Lambda retries a failed refresh run (0-2); after that the event goes to the dead-letter queue."
  type        = number
  default     = 2
}

# --- The purge endpoint ---------------------------------------------------------------------------

variable "purge_password" {
  description = "The purge password. Ephemeral and write-only: stored in SSM, never in Terraform state or plans. Pass it as TF_VAR_purge_password on every plan/apply."
  type        = string
  sensitive   = true
  ephemeral   = true
  nullable    = false

  validation {
    # Characters as the function counts them (code points; length() counts grapheme clusters).
    condition     = length(regexall("(?s).", var.purge_password)) >= 16 && length(regexall("(?s).", var.purge_password)) <= 1024
    error_message = "purge_password must be 16 to 1024 characters (the endpoint refuses longer ones)."
  }
}

variable "purge_password_version" {
  description = "Increase to write a new purge_password to SSM (rotation); 1 to 999. Adding or changing kms_key_arn writes it again by itself."
  type        = number
  default     = 1

  validation {
    condition     = var.purge_password_version >= 1 && var.purge_password_version <= 999 && floor(var.purge_password_version) == var.purge_password_version
    error_message = "purge_password_version must be a whole number from 1 to 999."
  }
}

variable "extra_purgeable_buckets" {
  description = "Buckets besides the data bucket that the endpoint may purge: exact names (no wildcards), each granted delete in the purge role."
  type        = list(string)
  default     = []

  validation {
    # S3's rules for general purpose bucket names, as the purge function checks them
    # (lambda_shared/s3_names.py): a name it refuses would be granted delete and never purged.
    condition = alltrue([for name in var.extra_purgeable_buckets : (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name)) &&
      !strcontains(name, "..") &&
      !can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", name)) &&
      !anytrue([for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(name, prefix)]) &&
      !anytrue([for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(name, suffix)])
    )])
    error_message = "extra_purgeable_buckets must hold S3 general purpose bucket names (3-63 lowercase letters, digits, dots and hyphens; not an IP address, no xn--, sthree- or amzn-s3-demo- prefix, no -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 suffix): a wildcard would grant delete on other buckets."
  }
}

variable "purge_path" {
  description = "Resource path of the endpoint."
  type        = string
  default     = "purge"
}

variable "purge_stage_name" {
  description = "API Gateway stage name."
  type        = string
  default     = "v1"
}

variable "purge_throttling_rate_limit" {
  description = "Requests per second the endpoint accepts."
  type        = number
  default     = 1
}

variable "purge_throttling_burst_limit" {
  description = "Burst of requests the endpoint accepts."
  type        = number
  default     = 5
}

variable "purge_require_api_key" {
  description = "Also require an API key (x-api-key) with a usage plan."
  type        = bool
  default     = false
}

variable "purge_allowed_source_cidrs" {
  description = "If not empty, only these source IP ranges may call the endpoint."
  type        = list(string)
  default     = []
}

variable "purge_memory_mb" {
  description = "Memory of the purge function and of its job worker. Listing pages is CPU-bound (parsing 1,000 entries each), and Lambda gives one full vCPU at 1769 MB: the purge costs about the same and finishes sooner."
  type        = number
  default     = 1769
}

variable "purge_reserved_concurrency" {
  description = "Reserved concurrency of the purge function (the endpoint's), capping the requests it serves at once (a purge job's runs are the worker's). null reserves none: reserving fails in accounts whose concurrency limit is below 100 + the reservation (new accounts start at 10)."
  type        = number
  default     = null

  validation {
    condition     = var.purge_reserved_concurrency == null || try(var.purge_reserved_concurrency >= 1 && floor(var.purge_reserved_concurrency) == var.purge_reserved_concurrency, false)
    error_message = "purge_reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "purge_job_max_concurrency" {
  description = "Lanes (prefixes one level down) a purge job deletes at once, each in its own worker invocation. Each runs at up to S3's 3,500 deletes/s per prefix; the worker's concurrency adds up across buckets purged at once."
  type        = number
  default     = 8

  validation {
    condition     = var.purge_job_max_concurrency >= 1 && var.purge_job_max_concurrency <= 40 && floor(var.purge_job_max_concurrency) == var.purge_job_max_concurrency
    error_message = "purge_job_max_concurrency must be a whole number from 1 to 40 (an inline Map state's most)."
  }
}

variable "purge_job_timeout_hours" {
  description = "A purge job still running this long after it started is stopped, and its status reads failed."
  type        = number
  default     = 72

  validation {
    condition     = var.purge_job_timeout_hours >= 1 && var.purge_job_timeout_hours <= 8760 && floor(var.purge_job_timeout_hours) == var.purge_job_timeout_hours
    error_message = "purge_job_timeout_hours must be a whole number from 1 to 8760."
  }
}

variable "purge_job_retention_days" {
  description = "Days a finished purge's status stays readable (its record in the job table); Step Functions keeps the execution's history 90 days besides."
  type        = number
  default     = 30

  validation {
    condition     = var.purge_job_retention_days >= 7 && var.purge_job_retention_days <= 3650 && floor(var.purge_job_retention_days) == var.purge_job_retention_days
    error_message = "purge_job_retention_days must be a whole number from 7 to 3650: partners may read a job's status for at least 7 days."
  }
}

variable "manage_api_gateway_cloudwatch_role" {
  description = "Create an IAM role and set it as the account's API Gateway CloudWatch Logs role in this region, which the stage's logs need. One setting per account and region: true overwrites any role set there, and destroy resets it (provider 6.x) or leaves it naming the deleted role (5.x). false expects it set already (see docs/deploy-and-operate.md)."
  type        = bool
  default     = false
}
