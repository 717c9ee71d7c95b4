variable "name" {
  description = "Name of the schedule; also names its IAM role (with the region)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, '.', '_' or '-'."
  }
}

variable "function_arn" {
  description = "ARN of the Lambda function the schedule invokes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]+$", var.function_arn))
    error_message = "function_arn must be an unqualified Lambda function ARN."
  }
}

variable "region" {
  description = "Region of the schedule (IAM role names are global, so the role's name carries it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "dead_letter_queue_arn" {
  description = "SQS queue that receives the runs the scheduler could not deliver."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.dead_letter_queue_arn))
    error_message = "dead_letter_queue_arn must be an SQS queue ARN."
  }
}

variable "schedule_expression" {
  description = "When to run: a cron() or rate() expression, in schedule_timezone."
  type        = string
  default     = "cron(0 0 * * ? *)"

  validation {
    condition     = can(regex("^(cron\\(.+\\)|rate\\(\\d+ (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(N unit)."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone the schedule expression is read in. A time that does not exist in the zone (skipped by a daylight-saving change) does not run that day: midnight in a zone whose DST starts at 00:00 is skipped once a year."
  type        = string
  default     = "America/Sao_Paulo"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$", var.schedule_timezone))
    error_message = "schedule_timezone must be an IANA time zone name such as America/Sao_Paulo or UTC."
  }
}

variable "input" {
  description = "JSON event the function receives; may hold EventBridge Scheduler's context placeholders such as <aws.scheduler.scheduled-time>."
  type        = string
  default     = "{}"

  validation {
    condition     = can(jsondecode(var.input))
    error_message = "input must be JSON."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries when the invocation itself fails (throttling, service errors)."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Give up delivering a run after this long, so a daily run never spills into the next day."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 43200
    error_message = "maximum_event_age_in_seconds must be between 60 and 43200 (half a day)."
  }
}

variable "enabled" {
  description = "Whether the schedule runs."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the schedule (and the dead-letter queue, which the role must then be allowed to use); null uses an AWS owned key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
