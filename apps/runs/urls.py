app_name = "runs"
urlpatterns: list = []
