"""The formal review (形式审查): decisions, link checks, resubmissions, 我的投稿."""
