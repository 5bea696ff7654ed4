"""Staff and personas (人设), the customers they own, hand-overs (离职继承 / 在职转接), their task list
(SOP) and the per-person conversation view."""
