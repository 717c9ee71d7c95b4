variable "name" {
  description = "Name of the state machine; also names its role (`<name>-<region>`), log group, job table (`<name>s`) and alarms."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 letters, digits, hyphens or underscores."
  }
}

variable "region" {
  description = "Region the state machine is deployed to (it names the role: IAM is global)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "worker_function_arn" {
  description = "ARN of the purge worker Lambda function (handler `purge_bucket.worker.lambda_handler`): the only thing the state machine may invoke."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.worker_function_arn))
    error_message = "worker_function_arn must be an unqualified Lambda function ARN."
  }
}

variable "max_concurrency" {
  description = "Lanes (prefixes) purged at once, each by its own worker invocation: the Map state's MaxConcurrency. Step Functions runs at most 40 iterations of an inline Map at once."
  type        = number
  default     = 8

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 40 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 40."
  }
}

variable "timeout_hours" {
  description = "A job still running this long after it started is stopped by Step Functions (TimedOut), and its status reads failed."
  type        = number
  default     = 72

  validation {
    condition     = var.timeout_hours >= 1 && var.timeout_hours <= 8760 && floor(var.timeout_hours) == var.timeout_hours
    error_message = "timeout_hours must be a whole number from 1 to 8760 (a year, a Standard execution's longest)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the state machine's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the job table and the log group; null uses AWS owned keys. Its key policy must allow the logs service."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "SNS topics notified when a job fails or times out."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
