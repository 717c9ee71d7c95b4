provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "partner-data-pipeline", ManagedBy = "terraform" }, var.tags)
  }
}
