variable "name" {
  description = "Name of the REST API; also names its log group, usage plan and API key."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "function_name" {
  description = "Name of the purge Lambda function."
  type        = string
}

variable "function_invoke_arn" {
  description = "Invoke ARN of the purge Lambda function (its `invoke_arn`)."
  type        = string

  validation {
    condition     = startswith(var.function_invoke_arn, "arn:")
    error_message = "function_invoke_arn must be an ARN."
  }
}

variable "path_part" {
  description = "Resource path of the endpoint: POST https://.../<stage>/<path_part>."
  type        = string
  default     = "purge"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.path_part))
    error_message = "path_part must be one path segment of letters, digits, '.', '_' or '-'."
  }
}

variable "stage_name" {
  description = "Name of the stage (the first path segment of the URL)."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be letters, digits, hyphens or underscores."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second for the whole stage (low: the endpoint deletes data)."
  type        = number
  default     = 1

  validation {
    condition     = var.throttling_rate_limit > 0 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be above 0 and at most 10000."
  }
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed above the rate."
  type        = number
  default     = 5

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "require_api_key" {
  description = "Require an API key (x-api-key header) on top of the password, with a usage plan and quota."
  type        = bool
  default     = false
}

variable "api_key_quota_per_day" {
  description = "Requests per day the API key may make (when require_api_key is true)."
  type        = number
  default     = 100

  validation {
    condition     = var.api_key_quota_per_day >= 1
    error_message = "api_key_quota_per_day must be >= 1."
  }
}

variable "allowed_source_cidrs" {
  description = "If not empty, only these source IP ranges may call the endpoint (a resource policy)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_source_cidrs : can(cidrhost(cidr, 0))])
    error_message = "allowed_source_cidrs must be CIDR blocks such as 203.0.113.0/24."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the access and execution logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log groups; null uses CloudWatch Logs' own encryption. Its key policy must allow the logs service."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
