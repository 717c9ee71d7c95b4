variable "name" {
  description = "Name of the function; also names its IAM role, log group and alarm."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "region" {
  description = "Region the function is deployed to (it names the role: IAM is global)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "zip_path" {
  description = "Path of the deployment package built by `make package` (e.g. dist/purge_bucket.zip)."
  type        = string

  validation {
    condition     = fileexists(var.zip_path)
    error_message = "zip_path does not exist: run `make package` first (or set dist_dir)."
  }
}

variable "package_architecture" {
  description = "Architecture the zip was built for (dist/manifest.json); must equal `architecture`. null skips the check."
  type        = string
  default     = null
}

variable "handler" {
  description = "Entry point in the zip: module.function."
  type        = string
  default     = "handler.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like module.function."
  }
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.13"

  validation {
    condition     = can(regex("^python3\\.1[3-9]$", var.runtime))
    error_message = "runtime must be python3.13 or a later Python 3 runtime: the zips are built for 3.13."
  }
}

variable "architecture" {
  description = "Instruction set architecture: arm64 or x86_64. Must match the build (`make package ARCH=...`)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "ephemeral_storage_mb" {
  description = "Size of /tmp in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_mb >= 512 && var.ephemeral_storage_mb <= 10240
    error_message = "ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and limiting) the function; null leaves it unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0, false)
    error_message = "reserved_concurrent_executions must be null or a number >= 0."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function (names only the handler's configuration contract)."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "Allow statements of the function's role, besides writing its own logs."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid)) && length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "each statement needs an alphanumeric sid, at least one action and at least one resource."
  }
}

variable "async_invoke" {
  description = "Asynchronous invocation: retries (0-2), maximum event age (60-21600 s), optional on-failure destination (SQS, SNS, Lambda or EventBridge ARN). null keeps Lambda's defaults."
  type = object({
    maximum_retry_attempts       = number
    maximum_event_age_in_seconds = number
    on_failure_destination_arn   = optional(string)
  })
  default = null

  validation {
    condition = var.async_invoke == null || try(
      var.async_invoke.maximum_retry_attempts >= 0 && var.async_invoke.maximum_retry_attempts <= 2 &&
      var.async_invoke.maximum_event_age_in_seconds >= 60 && var.async_invoke.maximum_event_age_in_seconds <= 21600,
      false
    )
    error_message = "async_invoke needs maximum_retry_attempts in 0-2 and maximum_event_age_in_seconds in 60-21600."
  }
}

variable "errors_alarm" {
  description = "CloudWatch alarm when the function reports errors (Errors >= threshold in a period); null for none."
  type = object({
    period_seconds = optional(number, 300)
    threshold      = optional(number, 1)
    alarm_actions  = optional(list(string), [])
  })
  default = {}

  validation {
    condition     = var.errors_alarm == null || try(contains([60, 300, 900, 3600, 21600, 86400], var.errors_alarm.period_seconds) && var.errors_alarm.threshold >= 1, false)
    error_message = "errors_alarm.period_seconds must be one of 60, 300, 900, 3600, 21600, 86400 and threshold >= 1."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log group and the environment; null uses AWS managed encryption. The key policy must allow the logs service."
  type        = string
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing: PassThrough or Active."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
