# Per-viewer data in a Shiny app behind Gantry. Shiny exposes request headers
# as HTTP_* variables of session$request: X-Gantry-User → HTTP_X_GANTRY_USER.
library(shiny)

sales <- data.frame(
  region = c("emea", "emea", "amer"),
  owner = c("alice", "bob", "carol"),
  amount = c(120, 80, 200)
)

ui <- fluidPage(
  titlePanel("Sales"),
  textOutput("who"),
  tableOutput("rows")
)

server <- function(input, output, session) {
  user <- session$request$HTTP_X_GANTRY_USER
  groups <- strsplit(if (is.null(session$request$HTTP_X_GANTRY_GROUPS)) "" else session$request$HTTP_X_GANTRY_GROUPS, ",")[[1]]
  regions <- sub("^region-", "", groups[startsWith(groups, "region-")])
  visible <- if ("executives" %in% groups) sales else subset(sales, region %in% regions | owner == user)
  output$who <- renderText(paste("Signed in as", user))
  output$rows <- renderTable(visible)
}

shinyApp(ui, server)
